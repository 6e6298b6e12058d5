"""The command line: ``diffusion-studio generate | models | info | demo-models | pose render``.

Bad input exits 2 with one clear line on stderr, Ctrl+C cancels cleanly and exits 130, and nothing prints a
traceback: unexpected failures write it to the log file and say where.
"""

from studio.cli.generate_args import parse_controls, parse_lora_arg, parse_size, request_from_args
from studio.cli.main import main
from studio.cli.parser import EXIT_BAD_INPUT, EXIT_CANCELLED, EXIT_FAILED, EXIT_OK, CliError, build_parser

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_CANCELLED",
    "EXIT_FAILED",
    "EXIT_OK",
    "CliError",
    "build_parser",
    "main",
    "parse_controls",
    "parse_lora_arg",
    "parse_size",
    "request_from_args",
]
