"""The explorer's logic without Streamlit (plain numpy/pandas/astropy, tested on tiny data); the pages in
``explorer/pages`` and the glue in ``explorer/ui`` only lay these results out.

- ``runs``       find run folders and load one (through ``core.run.folder.RunFolder``) into one table
- ``filters``    the map's filters (class, counts, hardness, split, name search) as a boolean mask
- ``neighbours`` nearest neighbours in the latent space, latent density, outlier rankings
- ``spectra``    one source's spectrum on the energy grid and its views (units, background, grouping, residuals)
- ``export``     a selection as CSV, VOTable (units, UCDs, simulated flag) or FITS bytes
- ``columns``    what each catalog column means: label, unit, UCD, definition; the colour options
- ``links``      a source's CSC and SIMBAD pages, by name and by position
- ``urlstate``   the view as a URL query and back, untrusted values checked
- ``samp``       tables and positions to TOPCAT, DS9, Aladin through a SAMP hub
- ``sky``        equatorial/Galactic coordinates in an Aitoff projection
- ``interpret``  what each latent axis tracks (Spearman with the hardness ratios)
- ``upload``     a user's PHA (+ ARF/RMF/background) read, encoded and placed on the saved maps
- ``live``       classifier metrics on the currently filtered sources
"""
