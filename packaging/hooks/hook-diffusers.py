"""diffusers checks its dependencies' versions through their package metadata at import, and loads most of
its modules lazily by name: collect its metadata, its dependencies' metadata and every submodule."""

from PyInstaller.utils.hooks import collect_data_files, collect_submodules, copy_metadata

datas = copy_metadata("diffusers", recursive=True) + collect_data_files("diffusers")
# The modules that need another backend (flax, onnx) fail to import in the analysis and are never used.
hiddenimports = collect_submodules(
    "diffusers", filter=lambda name: not any(part in name for part in ("flax", "onnx", "commands"))
)
# Source files too: torch.jit and inspect.getsource read them.
module_collection_mode = "pyz+py"
