"""The latent map as a WebGL scatter: a Streamlit components-v2 element whose JavaScript is bundled from
``explorer/component/frontend`` (``npm ci && npm run build``, run by ``scripts/setup``). The payload and the
selection codecs are in :mod:`explorer.logic.scatter`; this module builds the layers (cached per run), tracks
which of them the browser already holds, and turns the element's events into source ids."""
from explorer.component.map_element import BUNDLE, map_drawn, scatter_map, selected_rows

__all__ = ["BUNDLE", "map_drawn", "scatter_map", "selected_rows"]
