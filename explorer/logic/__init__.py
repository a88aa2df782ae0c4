"""Streamlit-free helpers behind the explorer pages (``explorer/``): everything here is plain numpy/pandas/astropy
and is tested on tiny data. The pages only lay these results out.

- ``runs``       find run folders, load a run's latents, maps, errors and catalog into one table
- ``filters``    the map's filters (class, counts, hardness, split, name search) as a boolean mask
- ``neighbours`` nearest neighbours in the latent space, latent density, outlier rankings
- ``spectra``    one source's observed counts, reconstruction, truth and residuals on the energy grid
- ``export``     a selection as CSV, VOTable or FITS bytes
- ``links``      a source's CSC page by name
- ``upload``     a user's PHA (+ ARF/RMF/background) read, encoded and placed on the saved maps
- ``traversal``  latent slider ranges and decoding for the teaching page
- ``live``       classifier metrics on the currently filtered sources
"""
