"""Session-state keys shared by the explorer's pages and glue."""
RUN = "xle_run"
SOURCE = "xle_source_id"  # the open source (id)
SELECTED = "xle_selected_ids"  # ids of the last box/lasso selection
COLOUR = "xle_colour"
GOTO = "xle_goto"  # a page to switch to, set by callbacks (which cannot switch pages themselves)
UPLOAD = "xle_upload_result"  # the last placed upload, kept across pages until replaced
