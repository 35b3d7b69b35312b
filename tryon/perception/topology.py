"""Index sets of the MediaPipe face mesh (478 points, refined) used to draw parsing priors and regions.

"Left" and "right" are the subject's, as in MediaPipe's own ``FACEMESH_LEFT_*`` sets (left appears on the
image's right in a non-mirrored photo).
"""

from __future__ import annotations

import math

import numpy as np

# Face outline, clockwise from the top of the forehead.
# fmt: off
FACE_OVAL = (
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
    152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
)
# fmt: on

# Lips, each contour from the right mouth corner (61 / 78) to the left one (291 / 308).
LIPS_UPPER_OUTER = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291)
LIPS_LOWER_OUTER = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291)
LIPS_UPPER_INNER = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)
LIPS_LOWER_INNER = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308)

# Eyes: lid margins, from the outer corner (33 / 263) to the inner one (133 / 362).
RIGHT_EYE_UPPER = (33, 246, 161, 160, 159, 158, 157, 173, 133)
RIGHT_EYE_LOWER = (33, 7, 163, 144, 145, 153, 154, 155, 133)
LEFT_EYE_UPPER = (263, 466, 388, 387, 386, 385, 384, 398, 362)
LEFT_EYE_LOWER = (263, 249, 390, 373, 374, 380, 381, 382, 362)

# Second and third rings around the eyes (toward the brow and the cheek), same order as the lid margins.
RIGHT_EYE_UPPER_2 = (130, 247, 30, 29, 27, 28, 56, 190, 243)
RIGHT_EYE_LOWER_2 = (130, 25, 110, 24, 23, 22, 26, 112, 243)
RIGHT_EYE_UPPER_3 = (113, 225, 224, 223, 222, 221, 189, 244)
RIGHT_EYE_LOWER_3 = (226, 31, 228, 229, 230, 231, 232, 233, 244)
LEFT_EYE_UPPER_2 = (359, 467, 260, 259, 257, 258, 286, 414, 463)
LEFT_EYE_LOWER_2 = (359, 255, 339, 254, 253, 252, 256, 341, 463)
LEFT_EYE_UPPER_3 = (342, 445, 444, 443, 442, 441, 413, 464)
LEFT_EYE_LOWER_3 = (446, 261, 448, 449, 450, 451, 452, 453, 464)

# Brows: the upper edge from the outer end inward, the lower edge from the outer end inward.
RIGHT_BROW_UPPER = (70, 63, 105, 66, 107)
RIGHT_BROW_LOWER = (46, 53, 52, 65, 55)
LEFT_BROW_UPPER = (300, 293, 334, 296, 336)
LEFT_BROW_LOWER = (276, 283, 282, 295, 285)

# Irises (refined landmarks): centre then four rim points.
RIGHT_IRIS = (468, 469, 470, 471, 472)
LEFT_IRIS = (473, 474, 475, 476, 477)

# Nose: an outline from the bridge between the eyes, down the right side, under the nostrils, up the left.
# fmt: off
NOSE_OUTLINE = (
    168, 193, 245, 188, 174, 217, 126, 209, 49, 64, 98, 97, 2, 326, 327, 294, 279, 429,
    355, 437, 399, 412, 465, 417,
)
# fmt: on

# Cheeks: the apple of each cheek, centre landmark then a ring around it.
RIGHT_CHEEK_CENTER = 205
LEFT_CHEEK_CENTER = 425
RIGHT_CHEEKBONE = (116, 117, 118, 119, 100, 142, 203, 206, 216, 192, 213, 147, 123)
LEFT_CHEEKBONE = (345, 346, 347, 348, 329, 371, 423, 426, 436, 416, 433, 376, 352)

# Skin colour samples: the cheeks under the eyes and the middle of the forehead.
SKIN_SAMPLES = (
    (117, 118, 119, 120, 100, 142, 203, 206, 207, 187, 123),
    (346, 347, 348, 349, 329, 371, 423, 426, 427, 411, 352),
    (67, 109, 10, 338, 297, 299, 337, 151, 108, 69),
)

# The area of the eye regions: the brows' upper edges down to the rings on the cheeks (a window around these holds
# both eyes, both brows and the lids between them).
EYE_AREA = tuple(sorted({*RIGHT_BROW_UPPER, *LEFT_BROW_UPPER, *RIGHT_EYE_LOWER_3, *LEFT_EYE_LOWER_3}))

# Landmarks used to scale things to the face.
RIGHT_EYE_OUTER, LEFT_EYE_OUTER = 33, 263
#: The face's sides at ear level (the face oval's widest points): the face's width is the distance between them.
RIGHT_FACE_SIDE, LEFT_FACE_SIDE = 234, 454
NOSE_TIP = 1
CHIN = 152
FOREHEAD = 10


def face_width(points: np.ndarray) -> float:
    """The face's width in pixels, cheek to cheek (landmarks 234 and 454): the unit most sizes are given in.

    Args:
        points: the face's landmarks (478 x 2 or more columns), in pixels.
    """
    d = points[454] - points[234]
    return max(math.hypot(float(d[0]), float(d[1])), 1.0)
