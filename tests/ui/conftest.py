"""Widget tests live in folders by what the artist sees; ``window_fixture`` beside this file serves them all."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
