"""The sources on the sky: equatorial or Galactic coordinates (astropy) in a hand-made Aitoff projection, with
its graticule, so that a WebGL scatter can draw 100,000 sources and keep Streamlit's selection events.

Sky maps are drawn as seen from inside the sphere: longitude grows to the left, 0 at the centre.
"""
from __future__ import annotations

import numpy as np

FRAMES = {"equatorial": "Equatorial (RA, Dec; ICRS)", "galactic": "Galactic (l, b)"}


def lonlat(ra: np.ndarray, dec: np.ndarray, frame: str) -> tuple[np.ndarray, np.ndarray]:
    """(longitude, latitude) in degrees in ``frame``; NaN stays NaN."""
    ra = np.asarray(ra, dtype=float)
    dec = np.asarray(dec, dtype=float)
    if frame == "equatorial":
        return ra, dec
    if frame != "galactic":
        raise ValueError(f"frame={frame!r}: choose one of {list(FRAMES)}")
    import astropy.units as u
    from astropy.coordinates import SkyCoord

    ok = np.isfinite(ra) & np.isfinite(dec)
    lon, lat = np.full(ra.shape, np.nan), np.full(ra.shape, np.nan)
    g = SkyCoord(ra=ra[ok] * u.deg, dec=dec[ok] * u.deg, frame="icrs").galactic
    lon[ok], lat[ok] = g.l.deg, g.b.deg
    return lon, lat


def aitoff(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Aitoff projection of (lon, lat) in degrees to plane coordinates in degrees (x in [-180, 180], y in
    [-90, 90]); longitude wrapped to (-180, 180] around the centre and mirrored (east to the left)."""
    lam = np.radians(((np.asarray(lon, dtype=float) + 180.0) % 360.0) - 180.0)
    phi = np.radians(np.asarray(lat, dtype=float))
    alpha = np.arccos(np.clip(np.cos(phi) * np.cos(lam / 2.0), -1.0, 1.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        sinc = np.where(alpha > 1e-12, np.sin(alpha) / np.where(alpha > 1e-12, alpha, 1.0), 1.0)
    x = 2.0 * np.cos(phi) * np.sin(lam / 2.0) / sinc
    y = np.sin(phi) / sinc
    return -np.degrees(x), np.degrees(y)


def project(ra: np.ndarray, dec: np.ndarray, frame: str) -> np.ndarray:
    """(N, 2) Aitoff plane coordinates of the sources in ``frame``."""
    return np.stack(aitoff(*lonlat(ra, dec, frame)), axis=1)


def graticule(step_lon: float = 60.0, step_lat: float = 30.0, n: int = 121) -> tuple[np.ndarray, np.ndarray]:
    """Meridians, parallels and the outline as one polyline (x, y) with NaN between the lines."""
    xs, ys = [], []
    lat = np.linspace(-90, 90, n)
    for lon in list(np.arange(-180 + step_lon, 180, step_lon)) + [-179.999, 179.999]:
        x, y = aitoff(np.full(n, lon), lat)
        xs += [x, [np.nan]]
        ys += [y, [np.nan]]
    lon = np.linspace(-179.999, 179.999, 2 * n)
    for la in np.arange(-90 + step_lat, 90, step_lat):
        x, y = aitoff(lon, np.full(2 * n, la))
        xs += [x, [np.nan]]
        ys += [y, [np.nan]]
    return np.concatenate(xs), np.concatenate(ys)


def lon_labels(frame: str, step: float = 60.0) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Labels of the meridians along the equator: hours of RA, or degrees of l."""
    lon = np.arange(0.0, 360.0, step)
    x, y = aitoff(lon, np.zeros_like(lon))
    text = [f"{int(v / 15)}h" if frame == "equatorial" else f"{int(v)}°" for v in lon]
    return x, y, text


def lat_labels(step: float = 30.0) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Labels of the parallels (Dec or b, in degrees) just outside the map's left edge, where each meets it."""
    lat = np.arange(-90.0 + step, 90.0, step)
    x, y = aitoff(np.full_like(lat, 179.999), lat)  # longitude grows to the left: 180° is the left edge
    return x - 4.0, y, [f"{int(v):+d}°" if v else "0°" for v in lat]
