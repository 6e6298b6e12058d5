"""transformers (5.x) requires ``kernels``, which reads its ``python_depends.json`` beside its modules at import:
without the data file, importing diffusers' LoRA loader fails inside the frozen app."""

from PyInstaller.utils.hooks import collect_data_files, copy_metadata

datas = copy_metadata("kernels") + collect_data_files("kernels")
