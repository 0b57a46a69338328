"""Keypoints of one animal from its foreground blob: centroid, body axis, ends, ears, tail.

The blob's thin parts (tail, cables) are removed by a morphological opening; the remaining
*body* gives the centroid (its first moments) and the body axis (its second moments). The
two ends of the body along the axis are the nose and tail-base candidates (the nose is the
sharpest convex point of the outline's head half, which follows a head bent sideways,
extended into the full foreground along the snout); which is which
is decided later over time (:mod:`behavtrack.tracking.orient`) from the per-frame shape
evidence computed here:

* where the thin parts removed by the opening attach (the tail attaches at the rear);
* which end is narrower (the snout tapers, the rump is round).

Ears are the body outline's lateral extremes a little behind the head end, which is where
they stand out in an overhead silhouette.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["FIELDS", "N_FIELDS", "pose_from_mask"]

# Layout of the per-frame record (a row of floats), in this order.
FIELDS = (
    "cx", "cy", "ux", "uy",             # body centroid, unit body axis
    "ax", "ay", "bx", "by",             # end along +u (A), end along -u (B)
    "a_lx", "a_ly", "a_rx", "a_ry",     # ears if A is the head: left, right
    "b_lx", "b_ly", "b_rx", "b_ry",     # ears if B is the head
    "ta_x", "ta_y", "tb_x", "tb_y",     # tail-base estimate if the tail is at A / at B
    "na_x", "na_y", "nb_x", "nb_y",     # nose tip if the head is at A / at B
    "shape",                            # shape evidence that A is the head (-1..1)
    "elong",                            # elongation (major / minor axis)
    "area",                             # body area (px)
)
N_FIELDS = len(FIELDS)
F = {name: i for i, name in enumerate(FIELDS)}

#: OpenCV erodes and dilates by a non-rectangular element (the ellipses here) a row's pixels
#: in vector blocks, and the rest of the row pixel by pixel, several times slower: the
#: images are widened to a multiple of this many columns first (blocks of 16, 32 or 64
#: pixels, by the CPU), with columns that leave the result as it is.
_ROW_BLOCK = 64


def _widened(img: np.ndarray, value: int = 0) -> np.ndarray:
    """Return ``img`` with columns of ``value`` on its right, to a multiple of ``_ROW_BLOCK``.

    ``img`` itself when it is that wide already. Its first ``img.shape[1]`` columns are
    ``img``.
    """
    import cv2

    extra = -img.shape[1] % _ROW_BLOCK
    if not extra:
        return img
    return cv2.copyMakeBorder(img, 0, 0, 0, extra, cv2.BORDER_CONSTANT, value=value)


def _dilate(img: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """``cv2.dilate(img, kernel)`` (what lies beyond the sides does not count), faster.

    The dilation of :func:`_widened` ``img`` (columns of 0 added, which a dilation never
    takes), cut back to ``img``'s width: a view, not a contiguous array.
    """
    import cv2

    return cv2.dilate(_widened(img), kernel)[:, :img.shape[1]]


def _up2(img: np.ndarray, w: int, h: int) -> np.ndarray:
    """Double ``img`` (nearest neighbour) to ``(h, w)``: an odd last row or column repeats.

    ``img`` is ``uint8``; ``(h, w)`` is its doubled size or one more row or column.
    """
    import cv2

    # each pixel twice along the row: as uint16 ``257 * v``, both bytes are ``v`` (faster
    # than OpenCV's nearest-neighbour resize); then each row twice
    up = np.multiply(img, 257, dtype=np.uint16).view(np.uint8).repeat(2, axis=0)
    if up.shape != (h, w):
        up = cv2.copyMakeBorder(up, 0, h - up.shape[0], 0, w - up.shape[1], cv2.BORDER_REPLICATE)
    return up


def _dilated_window(
    img: np.ndarray, kernel: np.ndarray, scale: int, x0: int, y0: int, x1: int, y1: int
) -> np.ndarray:
    """Return ``img`` dilated, enlarged ``scale`` times, in the window ``[y0:y1, x0:x1]``.

    The same as dilating all of ``img`` and enlarging it (nearest neighbour; an odd last
    row or column of the enlarged image repeats, as :func:`_up2` does), but only the
    part of ``img`` the window needs is dilated.
    """
    ih, iw = img.shape
    ry, rx = kernel.shape[0] // 2, kernel.shape[1] // 2
    # the window in ``img``'s pixels, then with the kernel's reach around it
    hx0, hy0 = min(x0 // scale, iw - 1), min(y0 // scale, ih - 1)
    hx1, hy1 = min(-(-x1 // scale), iw), min(-(-y1 // scale), ih)
    ex0, ey0 = max(0, hx0 - rx), max(0, hy0 - ry)
    ex1, ey1 = min(iw, hx1 + rx), min(ih, hy1 + ry)
    grown = _dilate(img[ey0:ey1, ex0:ex1], kernel)
    return _enlarged_window(grown, scale, x0, y0, x1, y1, (ex0, ey0), (iw, ih))


def _enlarged_window(
    img: np.ndarray, scale: int, x0: int, y0: int, x1: int, y1: int,
    origin: tuple[int, int] = (0, 0), size: tuple[int, int] | None = None,
) -> np.ndarray:
    """Return ``img`` enlarged ``scale`` times in the window ``[y0:y1, x0:x1]``, no more.

    Nearest neighbour; an odd last row or column of the enlarged image repeats, as
    :func:`_up2` does: the same pixels as ``_up2(img, ...)[y0:y1, x0:x1]``, without
    enlarging the rest. ``img`` may be a part of a larger image, whose pixel ``origin``
    ``(x, y)`` is its first and whose ``(width, height)`` is ``size`` (default: ``img``
    itself); the window is in the larger image's enlarged pixels.
    """
    import cv2

    ox, oy = origin
    iw, ih = size if size is not None else (img.shape[1], img.shape[0])
    # the window in the larger image's pixels
    hx0, hy0 = min(x0 // scale, iw - 1), min(y0 // scale, ih - 1)
    hx1, hy1 = min(-(-x1 // scale), iw), min(-(-y1 // scale), ih)
    part = img[hy0 - oy:hy1 - oy, hx0 - ox:hx1 - ox]
    if scale == 1:
        return part
    up = cv2.resize(part, (scale * part.shape[1], scale * part.shape[0]),
                    interpolation=cv2.INTER_NEAREST)
    # beyond the image's last row or column (an odd size): repeat it
    short_x, short_y = max(0, x1 - scale * hx1), max(0, y1 - scale * hy1)
    if short_x or short_y:
        up = cv2.copyMakeBorder(up, 0, short_y, 0, short_x, cv2.BORDER_REPLICATE)
    return up[y0 - scale * hy0:y1 - scale * hy0, x0 - scale * hx0:x1 - scale * hx0]


def _erode(
    img: np.ndarray,
    kernel: np.ndarray,
    offset: tuple[int, int],
    crop_size: tuple[int, int],
    frame_size: tuple[int, int] | None,
) -> np.ndarray:
    """Erode a crop: background beyond its sides, foreground beyond the frame's edges.

    ``img`` is the crop (or the crop reduced by half), ``crop_size`` the crop's full-size
    ``(width, height)``. Without ``frame_size``, OpenCV's default (foreground beyond every
    side). The image is eroded :func:`_widened` (faster); the result is a view of
    ``img``'s size.
    """
    import cv2

    ih, iw = img.shape
    if frame_size is None:
        return cv2.erode(_widened(img, 255), kernel)[:, :iw]
    r = kernel.shape[0] // 2
    (x0, y0), (w, h), (fw, fh) = offset, crop_size, frame_size
    top, bottom = r * (y0 <= 0), r * (y0 + h >= fh)
    left, right = r * (x0 <= 0), r * (x0 + w >= fw)
    if top or bottom or left or right:
        # (the columns that widen it lie beyond the kernel's reach from ``img``)
        img = cv2.copyMakeBorder(img, top, bottom, left, right, cv2.BORDER_CONSTANT,
                                 value=255)
    eroded = cv2.erode(_widened(img), kernel, borderType=cv2.BORDER_CONSTANT, borderValue=0)
    return eroded[top:top + ih, left:left + iw]


def pose_from_mask(
    mask: np.ndarray,
    offset: tuple[int, int],
    kernel: np.ndarray,
    coarse_kernel: np.ndarray | None = None,
    outline: np.ndarray | None = None,
    frame_size: tuple[int, int] | None = None,
) -> np.ndarray | None:
    """Measure one animal from its foreground mask (a crop of the frame).

    Parameters
    ----------
    mask
        ``uint8`` crop (0/255) holding one animal's foreground pixels, tail included, with
        an empty margin of a pixel or more (except where the crop meets the frame's edge).
    offset
        ``(x0, y0)`` of the crop in the frame.
    kernel
        Structuring element of the opening that removes the tail (a disk a little wider
        than the tail, narrower than the body).
    coarse_kernel
        If given, the opening (and the dilation that finds thin parts) runs on the mask
        reduced by half with this element (about half of ``kernel``), which is several
        times faster for wide kernels; the body is then cut from the full-resolution mask.
    outline
        The mask's outer contour (``cv2.findContours`` layout, crop coordinates) if known;
        otherwise it is found here.
    frame_size
        ``(width, height)`` of the frame. The opening treats what lies beyond the crop as
        background, except beyond the frame's edges, where it treats it as foreground (an
        animal cut by the frame's edge is not eaten away from there). Without it every
        side of the crop is taken for a frame edge: the crop then needs an empty margin as
        wide as the opening's radius.

    Returns
    -------
    numpy.ndarray or None
        One record of :data:`FIELDS` in frame coordinates, or ``None`` if no body is left
        after the opening.

    """
    import cv2

    h, w = mask.shape
    if coarse_kernel is not None and min(h, w) >= 8:
        small = cv2.resize(mask, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
        _, small = cv2.threshold(small, 127, 255, cv2.THRESH_BINARY)
        body_s = _dilate(_erode(small, coarse_kernel, offset, (w, h), frame_size),
                         coarse_kernel)
        body = cv2.bitwise_and(mask, _up2(body_s, w, h))
        # the body grown by the opening's radius, to find the thin parts: at half size
        grown_from, grown_kernel, grown_scale = body_s, coarse_kernel, 2
    else:
        body = _dilate(_erode(mask, kernel, offset, (w, h), frame_size), kernel)
        grown_from, grown_kernel, grown_scale = body, kernel, 1
    contours, _ = cv2.findContours(body, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if not contours:
        return None
    outline_c = contours[0] if len(contours) == 1 else max(contours, key=cv2.contourArea)
    m = cv2.moments(outline_c)  # of the outline polygon: fast, and the same to < 1 px
    area = m["m00"]
    if area < 4:
        return None
    if grown_scale == 1 and len(contours) > 1:
        grown_from = np.zeros_like(body)
        cv2.drawContours(grown_from, [outline_c], -1, 255, thickness=-1)
    cx, cy = m["m10"] / area, m["m01"] / area
    mu20, mu02, mu11 = m["mu20"] / area, m["mu02"] / area, m["mu11"] / area
    theta = 0.5 * math.atan2(2 * mu11, mu20 - mu02)
    ux, uy = math.cos(theta), math.sin(theta)
    common = math.sqrt(((mu20 - mu02) / 2) ** 2 + mu11**2)
    lam1 = (mu20 + mu02) / 2 + common
    lam2 = max((mu20 + mu02) / 2 - common, 1e-6)
    elong = math.sqrt(lam1 / lam2)

    # points as complex numbers x + iy: fewer, larger array operations
    z = outline_c.reshape(-1, 2).astype(np.float64).view(np.complex128).ravel()
    centre = complex(cx, cy)
    u = complex(ux, uy)
    rel = z - centre
    frame_u = rel * u.conjugate()  # along the axis + i * across it
    along, across = frame_u.real, frame_u.imag
    a_max = float(along.max())
    a_min = float(along.min())
    half = max(a_max, -a_min, 1.0)
    tol = max(1.5, 0.06 * half)
    z_hi = z[along >= a_max - tol]
    z_lo = z[along <= a_min + tol]
    end_a = complex(z_hi.sum()) / len(z_hi)
    end_b = complex(z_lo.sum()) / len(z_lo)

    # -- shape evidence: thin parts attached near an end, and which end tapers ----------
    # thin parts: foreground the grown body does not cover; only those within ``radius``
    # of an end count, so they are looked for in a window around each end only
    radius = 0.45 * half + 3
    # at half size, the whole (small) crop is grown and enlarged at once, and the thin
    # parts of the whole crop found: the same pixels in each window as growing and
    # enlarging that window alone (``_dilated_window``), in fewer, larger operations
    thin = (cv2.subtract(mask, _up2(_dilate(grown_from, grown_kernel), w, h))
            if grown_scale == 2 else None)
    tails = []
    for end in (end_a, end_b):
        ex, ey = end.real, end.imag
        wx0, wy0 = max(0, int(ex - radius)), max(0, int(ey - radius))
        wx1, wy1 = min(w, int(ex + radius) + 2), min(h, int(ey + radius) + 2)
        found = None
        if wx1 > wx0 and wy1 > wy0:
            if thin is not None:
                found = cv2.findNonZero(thin[wy0:wy1, wx0:wx1])
            else:
                grown = _dilated_window(grown_from, grown_kernel, grown_scale,
                                        wx0, wy0, wx1, wy1)
                found = cv2.findNonZero(cv2.subtract(mask[wy0:wy1, wx0:wx1], grown))
        if found is None:
            tails.append((0.0, end))
            continue
        p = found.reshape(-1, 2).astype(np.float64).view(np.complex128).ravel()
        p = p[np.abs(p + complex(wx0 - ex, wy0 - ey)) < radius] + complex(wx0, wy0)
        if not len(p):
            tails.append((0.0, end))
            continue
        # the tail base: the outline point closest to where the thin part attaches
        root = p[np.abs(((p - centre) * u.conjugate()).real).argmin()]
        tails.append((float(len(p)), complex(z[np.abs(z - root).argmin()])))
    (tail_a, ta), (tail_b, tb) = tails
    tail_ev = (tail_b - tail_a) / (tail_a + tail_b + 4.0)  # > 0: tail at B, head at A

    band = 0.55 * half
    wide_a = across[along > band]
    wide_b = across[along < -band]
    wa = float(wide_a.max() - wide_a.min()) if len(wide_a) > 2 else 0.0
    wb = float(wide_b.max() - wide_b.min()) if len(wide_b) > 2 else 0.0
    taper_ev = (wb - wa) / (wa + wb + 1e-6)  # > 0: A narrower, head at A
    shape = min(max(1.5 * tail_ev + 0.7 * taper_ev, -1.0), 1.0)

    # -- ears: lateral extremes of the outline a little behind each candidate head ------
    # (row 0: the head at A, the +u end; row 1: at B)
    s_along = np.stack((along, -along))
    sel = (s_along > 0.72 * half) & (s_along < 0.92 * half)
    n_sel = sel.sum(axis=1).tolist()
    for row in (0, 1):
        if n_sel[row] < 3:
            sel[row] = s_along[row] > 0.5 * half
            n_sel[row] = max(1, int(np.count_nonzero(sel[row])))  # none: ears at the ends
    lat = np.stack((across, -across))  # > 0: the animal's right in image coordinates
    left = np.where(sel, lat, np.inf).argmin(axis=1).tolist()
    right = np.where(sel, lat, -np.inf).argmax(axis=1).tolist()
    # ears sit inside the outline, not on it: pull a third of the way to the midline
    depth = (s_along * sel).sum(axis=1).tolist()
    ears = []
    for row, sign in ((0, 1.0), (1, -1.0)):
        mid = centre + u * (sign * depth[row] / n_sel[row])
        for k in (left[row], right[row]):
            ear = complex(z[k])
            ears.append(ear + (mid - ear) / 3)
    # -- nose tip. The snout is the sharpest convex point of the body's outline in the
    # head half (a bent head's tip is not the axis's end); the opening blunts a tapering
    # snout, so the tip is then extended into the full foreground along the snout's own
    # direction by at most the opening's radius.
    reach = 1.0 * (kernel.shape[0] // 2) + 2.0
    width = float(across.max() - across.min())
    lane = max(2.0, 0.25 * width)
    arc = max(4, int(round(0.4 * width)))
    snouts = np.array([end_a, end_b])
    dirs = np.array([u, -u])  # along the axis, by default
    if len(z) > 4 * arc:
        # neighbours ``arc`` points before and after along the outline (it is closed)
        z_prev = np.concatenate((z[-arc:], z[:-arc]))
        z_next = np.concatenate((z[arc:], z[:arc]))
        bulge = z - (z_prev + z_next) / 2
        sharpness = np.abs(bulge) / (np.abs(z_prev - z_next) + 1.0)
        # convex points (bulging away from the centre) in the head half
        cand = ((bulge * rel.conjugate()).real > 0) & (s_along > 0.25 * half)
        sharp = np.where(cand, sharpness, -1.0)
        best = sharp.argmax(axis=1).tolist()
        at_end = np.abs(z - snouts[:, None]).argmin(axis=1).tolist()
        # keep the axis end unless the other point is clearly sharper (a bent head)
        for row, (k, e) in enumerate(zip(best, at_end, strict=True)):
            sk = float(sharp[row, k])
            if sk >= 0 and sk > 1.3 * float(sharpness[e]) + 0.05:
                snouts[row] = z[k]
                dirs[row] = bulge[k] / (abs(bulge[k]) + 1e-9)
    # the tip lies on the outline of the full foreground: its outline points suffice
    if outline is None:
        full_outlines, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        full = np.concatenate([c.reshape(-1, 2) for c in full_outlines])
    else:
        full = outline.reshape(-1, 2)
    f = full.astype(np.float64).view(np.complex128).ravel()
    fd = (f - snouts[:, None]) * dirs.conjugate()[:, None]  # along the snout + i * across
    f_along = fd.real
    lane_sel = (np.abs(fd.imag) < lane) & (f_along > -1.0) & (f_along < reach)
    far = np.where(lane_sel, f_along, -np.inf).max(axis=1)
    near_tip = lane_sel & (f_along > far[:, None] - 1.5)
    n_tip = near_tip.sum(axis=1).tolist()
    sums = (f * near_tip).sum(axis=1).tolist()
    # no outline point in the lane: the snout point itself
    tips = [sums[r] / n_tip[r] if n_tip[r] else complex(snouts[r]) for r in (0, 1)]
    off = complex(*offset)
    pts = [centre, end_a, end_b, *ears, ta, tb, *tips]
    xy = [c for p in pts for c in ((p + off).real, (p + off).imag)]
    return np.array([*xy[:2], ux, uy, *xy[2:], shape, elong, area], dtype=np.float64)
