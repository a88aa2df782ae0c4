"""Session-state keys shared by the explorer's pages and glue."""
RUN = "xle_run"
SOURCE = "xle_source_id"  # the open source (id)
SELECTED = "xle_selected_ids"  # ids of the last box/lasso selection
COLOUR = "xle_colour"
GOTO = "xle_goto"  # a page to switch to, set by callbacks (which cannot switch pages themselves)
UPLOAD = "xle_upload_result"  # the last placed upload, kept across pages until replaced
# the spectrum view's controls, one set for every page that draws a spectrum (in the address too)
SPEC_VIEW, SPEC_UNIT, SPEC_SUB = "xle_spec_view", "xle_spec_unit", "xle_spec_sub"
SPEC_LOG, SPEC_GROUP, SPEC_RES = "xle_spec_log", "xle_spec_grp", "xle_spec_res"
SPEC_KEYS = (SPEC_VIEW, SPEC_UNIT, SPEC_SUB, SPEC_LOG, SPEC_GROUP, SPEC_RES)
