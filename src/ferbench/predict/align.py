"""Face alignment from five landmarks: eyes level, the face placed as FER-2013 places it in its 48-px crops.

``FER_TEMPLATE`` is where the five MTCNN landmarks sit in FER-2013 crops, as fractions of the crop: the median
over 349 of 400 random Training faces in which MTCNN found a face (crops padded by half their size, upscaled
×4), made left-right symmetric. So an aligned photo face has the margins the classifiers were trained on.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

FER_TEMPLATE = np.array([[0.312, 0.390], [0.688, 0.390], [0.500, 0.605], [0.345, 0.786], [0.655, 0.786]])


def eye_angle(landmarks: np.ndarray) -> float:
    """Degrees the eye line is turned from horizontal (positive: the right-hand eye is lower in the image)."""
    left, right = sorted(landmarks[:2].tolist())  # by x: the eye on the image's left first
    return math.degrees(math.atan2(right[1] - left[1], right[0] - left[0]))


def alignment_matrix(landmarks: np.ndarray, size: int = 48) -> np.ndarray:
    """2×3 similarity transform (image -> size×size crop): rotation levelling the eyes, then the scale and shift
    that best fit the five landmarks to :data:`FER_TEMPLATE` (least squares)."""
    pts = np.asarray(landmarks, dtype=np.float64).reshape(5, 2)
    theta = math.radians(eye_angle(pts))
    rot = np.array([[math.cos(theta), math.sin(theta)], [-math.sin(theta), math.cos(theta)]])  # undoes theta
    turned = pts @ rot.T
    target = FER_TEMPLATE * size
    p, t = turned - turned.mean(0), target - target.mean(0)
    scale = float((p * t).sum() / max((p * p).sum(), 1e-9))
    linear = scale * rot
    shift = target.mean(0) - linear @ pts.mean(0)
    return np.hstack([linear, shift[:, None]])


def align_face(image: np.ndarray, landmarks: np.ndarray, size: int = 48) -> np.ndarray:
    """The aligned size×size crop. Large faces are first shrunk with area averaging (a plain warp would alias)."""
    matrix = alignment_matrix(landmarks, size)
    scale = math.hypot(matrix[0, 0], matrix[0, 1])
    if scale < 0.5:
        f = 2 * scale
        h, w = image.shape[:2]
        image = cv2.resize(image, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)
        matrix = alignment_matrix(np.asarray(landmarks) * (image.shape[1] / w, image.shape[0] / h), size)
    return cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
