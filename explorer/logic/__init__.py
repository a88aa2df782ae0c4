"""The explorer's logic without Streamlit (plain numpy/pandas/astropy, tested on tiny data); the pages in
``explorer/pages`` and the glue in ``explorer/ui`` only lay these results out.

- ``runs``       find run folders and load one (through ``core.run.folder.RunFolder``) into one table
- ``filters``    the map's filters (class, counts, hardness, split, name search) as a boolean mask
- ``neighbours`` nearest neighbours in the latent space, latent density, outlier rankings
- ``spectra``    one source's observed counts, reconstruction, truth and residuals on the energy grid
- ``export``     a selection as CSV, VOTable or FITS bytes
- ``links``      a source's CSC and SIMBAD pages
- ``upload``     a user's PHA (+ ARF/RMF/background) read, encoded and placed on the saved maps
- ``live``       classifier metrics on the currently filtered sources
"""
