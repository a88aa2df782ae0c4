"""Buttons that send to the SAMP hub's clients (TOPCAT, DS9, Aladin) with their feedback (explorer.logic.samp)."""
from __future__ import annotations

from typing import Callable

import pandas as pd
import streamlit as st

from core.errors import XLEError
from explorer.logic import samp

HELP = ("SAMP: the messaging of TOPCAT, DS9 and Aladin. Start one of them on the machine that runs this app (it "
        "runs a hub), then send.")


def _report(key: str, where=st) -> None:
    msg = st.session_state.get(key)
    if msg:
        (where.success if msg[0] else where.warning)(msg[1], icon=":material/cell_tower:")


def send_table_button(df: pd.DataFrame | Callable[[], pd.DataFrame], *, name: str, meta: dict, key: str,
                      where=st) -> None:
    """“Send to TOPCAT” for a table of sources (or a function that makes it, called only when the button is
    pressed: 500,000 selected rows took a second to gather on every rerun); the outcome is shown below it
    until the next send."""
    note = f"{key}_note"

    def send() -> None:
        try:
            table = df() if callable(df) else df
            sent = samp.send_table(table, name=name, meta=meta)
            st.session_state[note] = (bool(sent.recipients), samp.feedback(sent, f"{len(table):,} sources"))
        except XLEError as exc:
            st.session_state[note] = (False, str(exc))

    where.button("Send to TOPCAT (SAMP)", key=key, on_click=send, icon=":material/cell_tower:", help=HELP)
    _report(note, where)


def point_button(ra: float, dec: float, *, key: str, where=st) -> None:
    """“Point DS9 / Aladin here” at a source's position."""
    note = f"{key}_note"

    def send() -> None:
        try:
            sent = samp.point_at(ra, dec)
            st.session_state[note] = (bool(sent.recipients), samp.feedback(sent, f"position {ra:.5f} {dec:+.5f}"))
        except XLEError as exc:
            st.session_state[note] = (False, str(exc))

    where.button("Point DS9 / Aladin (SAMP)", key=key, on_click=send, icon=":material/my_location:", help=HELP)
    _report(note, where)
