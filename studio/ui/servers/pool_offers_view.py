"""What the servers in use offer, shown where it is chosen: their ControlNets in the control rows, and the
samplers a server lacks marked in the sampler list. Scanned off the GUI thread with the model list."""

from __future__ import annotations

from typing import Any

from studio.state.servers import PoolOffers
from studio.ui.generation.sampler_marks import mark_samplers


def follow_pool_offers(offers: PoolOffers, models: Any, window: Any) -> None:
    """Ask ``offers`` again whenever the model list is scanned (``models``: the state's ``ModelList``), and show
    each answer in ``window``."""
    models.refreshing.connect(lambda scanning: offers.refresh() if scanning else None)

    def show(entries: list) -> None:
        offer = entries[0] if entries else None
        window.canvases.control_panel.set_served(list(offer.controlnets) if offer else None)
        mark_samplers(window.settings_panel.sampler, offer.lacking if offer else {})

    offers.changed.connect(show)
