"""The model catalogue, torch-free: where models, LoRAs and ControlNets are, what family each is, downloads,
hashes and the name tables (samplers, annotators). The window lists and checks models with this package alone;
only ``studio.engine`` loads weights.
"""
