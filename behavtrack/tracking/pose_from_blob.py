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


def _ends(points: np.ndarray, along: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Mean of the outline points within ``tol`` of the largest and smallest projection."""
    hi = along >= along.max() - tol
    lo = along <= along.min() + tol
    return points[hi].mean(axis=0), points[lo].mean(axis=0)


def pose_from_mask(
    mask: np.ndarray,
    offset: tuple[int, int],
    kernel: np.ndarray,
    coarse_kernel: np.ndarray | None = None,
) -> np.ndarray | None:
    """Measure one animal from its foreground mask (a crop of the frame).

    Parameters
    ----------
    mask
        ``uint8`` crop (0/255) holding one animal's foreground pixels, tail included.
    offset
        ``(x0, y0)`` of the crop in the frame.
    kernel
        Structuring element of the opening that removes the tail (a disk a little wider
        than the tail, narrower than the body).
    coarse_kernel
        If given, the opening (and the dilation that finds thin parts) runs on the mask
        reduced by half with this element (about half of ``kernel``), which is several
        times faster for wide kernels; the body is then cut from the full-resolution mask.

    Returns
    -------
    numpy.ndarray or None
        One record of :data:`FIELDS` in frame coordinates, or ``None`` if no body is left
        after the opening.

    """
    import cv2

    if coarse_kernel is not None and min(mask.shape) >= 8:
        h, w = mask.shape
        small = cv2.resize(mask, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
        _, small = cv2.threshold(small, 127, 255, cv2.THRESH_BINARY)
        body_s = cv2.morphologyEx(small, cv2.MORPH_OPEN, coarse_kernel)
        body = cv2.bitwise_and(mask, cv2.resize(body_s, (w, h), interpolation=cv2.INTER_NEAREST))
        grown = cv2.resize(cv2.dilate(body_s, coarse_kernel), (w, h),
                           interpolation=cv2.INTER_NEAREST)
    else:
        body = cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel)
        grown = None
    contours, _ = cv2.findContours(body, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if not contours:
        return None
    outline_c = max(contours, key=cv2.contourArea)
    if len(contours) > 1:
        body = np.zeros_like(body)
        cv2.drawContours(body, [outline_c], -1, 255, thickness=-1)
    m = cv2.moments(outline_c)  # of the outline polygon: fast, and the same to < 1 px
    area = m["m00"]
    if area < 4:
        return None
    cx, cy = m["m10"] / area, m["m01"] / area
    mu20, mu02, mu11 = m["mu20"] / area, m["mu02"] / area, m["mu11"] / area
    theta = 0.5 * np.arctan2(2 * mu11, mu20 - mu02)
    u = np.array([np.cos(theta), np.sin(theta)])
    common = np.sqrt(((mu20 - mu02) / 2) ** 2 + mu11**2)
    lam1 = (mu20 + mu02) / 2 + common
    lam2 = max((mu20 + mu02) / 2 - common, 1e-6)
    elong = float(np.sqrt(lam1 / lam2))

    outline = outline_c.reshape(-1, 2).astype(float)
    rel = outline - (cx, cy)
    along = rel @ u
    across = rel @ np.array([-u[1], u[0]])
    half = max(along.max(), -along.min(), 1.0)
    tol = max(1.5, 0.06 * half)
    end_a, end_b = _ends(outline, along, tol)

    # -- shape evidence: thin parts attached near an end, and which end tapers ----------
    if grown is None:
        grown = cv2.dilate(body, kernel)
    thin = cv2.subtract(mask, grown)
    tail_a = tail_b = 0.0
    ta = end_a.copy()
    tb = end_b.copy()
    found = cv2.findNonZero(thin)
    if found is not None:
        pts = found.reshape(-1, 2).astype(float)
        proj = (pts - (cx, cy)) @ u
        radius = 0.45 * half + 3
        near_a = np.hypot(*(pts - end_a).T) < radius
        near_b = np.hypot(*(pts - end_b).T) < radius
        tail_a = float(near_a.sum())
        tail_b = float(near_b.sum())
        # the tail base: the outline point closest to where the thin part attaches
        for near, which in ((near_a, "a"), (near_b, "b")):
            if near.any():
                root = pts[near][np.argmin(np.abs(proj[near]))]
                k = np.argmin(np.hypot(*(outline - root).T))
                if which == "a":
                    ta = outline[k]
                else:
                    tb = outline[k]
    tail_ev = (tail_b - tail_a) / (tail_a + tail_b + 4.0)  # > 0: tail at B, head at A

    band = 0.55 * half
    wa = np.ptp(across[along > band]) if (along > band).sum() > 2 else 0.0
    wb = np.ptp(across[along < -band]) if (along < -band).sum() > 2 else 0.0
    taper_ev = (wb - wa) / (wa + wb + 1e-6)  # > 0: A narrower, head at A
    shape = float(np.clip(1.5 * tail_ev + 0.7 * taper_ev, -1.0, 1.0))

    # -- ears: lateral extremes of the outline a little behind each candidate head ------
    def ears(sign: float) -> tuple[np.ndarray, np.ndarray]:
        s_along = along * sign
        sel = (s_along > 0.72 * half) & (s_along < 0.92 * half)
        if sel.sum() < 3:
            sel = s_along > 0.5 * half
        lateral = across[sel] * sign  # > 0: animal's right in image coordinates
        pts = outline[sel]
        left = pts[np.argmin(lateral)]
        right = pts[np.argmax(lateral)]
        # ears sit inside the outline, not on it: pull a third of the way to the midline
        mid = np.array([cx, cy]) + u * sign * float(s_along[sel].mean())
        return left + (mid - left) / 3, right + (mid - right) / 3

    a_l, a_r = ears(1.0)
    b_l, b_r = ears(-1.0)
    # -- nose tip. The snout is the sharpest convex point of the body's outline in the
    # head half (a bent head's tip is not the axis's end); the opening blunts a tapering
    # snout, so the tip is then extended into the full foreground along the snout's own
    # direction by at most the opening's radius.
    reach = 1.0 * (kernel.shape[0] // 2) + 2.0
    width = float(np.ptp(across))
    lane = max(2.0, 0.25 * width)
    arc = max(4, int(round(0.4 * width)))
    if len(outline) > 4 * arc:
        prev = np.roll(outline, arc, axis=0)
        nxt = np.roll(outline, -arc, axis=0)
        mid = (prev + nxt) / 2
        bulge = outline - mid
        sharpness = np.hypot(*bulge.T) / (np.hypot(*(prev - nxt).T) + 1.0)
        convex = np.einsum("ij,ij->i", bulge, rel) > 0
    else:
        bulge = rel
        sharpness = np.zeros(len(outline))
        convex = np.zeros(len(outline), dtype=bool)
    # the tip lies on the outline of the full foreground: its outline points suffice
    full_outlines, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    full = np.concatenate([c.reshape(-1, 2) for c in full_outlines]).astype(float)

    def snout(end: np.ndarray, sign: float) -> tuple[np.ndarray, np.ndarray]:
        """Return the snout point and direction if the head is at ``sign`` * u."""
        cand = convex & (along * sign > 0.25 * half)
        axis_dir = u * sign
        if cand.any():
            k = int(np.flatnonzero(cand)[np.argmax(sharpness[cand])])
            at_end = int(np.argmin(np.hypot(*(outline - end).T)))
            # keep the axis end unless the other point is clearly sharper (a bent head)
            if sharpness[k] > 1.3 * sharpness[at_end] + 0.05:
                d = bulge[k] / (np.hypot(*bulge[k]) + 1e-9)
                return outline[k], d
        return end, axis_dir

    def tip(end: np.ndarray, d: np.ndarray) -> np.ndarray:
        rel_f = full - end
        f_along = rel_f @ d
        f_across = rel_f @ np.array([-d[1], d[0]])
        sel = (np.abs(f_across) < lane) & (f_along > -1.0) & (f_along < reach)
        if not sel.any():
            return end
        far = f_along[sel].max()
        near_tip = sel & (f_along > far - 1.5)
        return full[near_tip].mean(axis=0)

    na = tip(*snout(end_a, 1.0))
    nb = tip(*snout(end_b, -1.0))
    x0, y0 = offset
    off = np.array([x0, y0], dtype=float)
    rec = np.concatenate([
        [cx + x0, cy + y0], u,
        end_a + off, end_b + off,
        a_l + off, a_r + off, b_l + off, b_r + off,
        ta + off, tb + off,
        na + off, nb + off,
        [shape, elong, area],
    ])
    return rec
