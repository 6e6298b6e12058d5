"""controlnet_aux scripts its detectors with TorchScript, which needs their source files, and ships model
configs as data beside its modules."""

from PyInstaller.utils.hooks import collect_data_files, collect_submodules, copy_metadata

datas = copy_metadata("controlnet_aux") + collect_data_files("controlnet_aux")
hiddenimports = collect_submodules("controlnet_aux")
module_collection_mode = "pyz+py"
