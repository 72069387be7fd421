#!/usr/bin/python3
"""Reference values for @restorekit/metrics.

Run with Debian's Python (python3-numpy, python3-skimage, python3-opencv):

    /usr/bin/python3 packages/metrics/scripts/make-reference.py

It crops a few clean images from /work/shared/datasets (or $RESTOREKIT_SHARED/datasets), makes
degraded versions deterministically (seeded Gaussian noise, Gaussian blur), computes

* PSNR with BasicSR's `calculate_psnr` (basicsr/metrics/psnr_ssim.py),
* SSIM with BasicSR's `calculate_ssim` / `_ssim` (basicsr/metrics/psnr_ssim.py; MATLAB-style
  11x11 Gaussian sigma 1.5, the Restormer protocol),
* SSIM with scikit-image's `structural_similarity` (7x7 uniform window, sample covariance,
  the AnyIR / FSDerain protocol),

with and without crop_border / test_y_channel, and writes the uint8 images (base64, HWC, RGB)
and the values to packages/metrics/test/data/reference.json. The TypeScript tests read only that file.

The BasicSR functions below are copied verbatim from XPixelGroup/BasicSR (master):
`calculate_psnr`, `calculate_ssim`, `_ssim` from basicsr/metrics/psnr_ssim.py,
`reorder_image`, `to_y_channel` from basicsr/metrics/metric_util.py and
`bgr2ycbcr`, `_convert_input_type_range`, `_convert_output_type_range` from
basicsr/utils/color_util.py (= mmcv/image/colorspace.py, which older BasicSR imported as
`mmcv.bgr2ycbcr`); only decorators, docstrings and the torch imports are dropped.
(One crawled copy of color_util.py has `img *= 255` for float32 inputs in
`_convert_input_type_range`; that gives Y values around 55000 and is not the released code.)
BasicSR reads images with cv2.imread, i.e. in BGR order, so the RGB crops are flipped to BGR
before they are passed to these functions (this matters only for test_y_channel).
"""
import base64
import json
import os
import platform
import sys

import cv2
import numpy as np
import skimage
from skimage.metrics import structural_similarity, peak_signal_noise_ratio

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, '..', 'test', 'data', 'reference.json')
SHARED = os.environ.get('RESTOREKIT_SHARED', '/work/shared')


# ----------------------------------------------------------------------------------------------
# BasicSR, verbatim (basicsr/utils/color_util.py)
def bgr2ycbcr(img, y_only=False):
    img_type = img.dtype
    img = _convert_input_type_range(img)
    if y_only:
        out_img = np.dot(img, [24.966, 128.553, 65.481]) + 16.0
    else:
        out_img = np.matmul(
            img, [[24.966, 112.0, -18.214], [128.553, -74.203, -93.786], [65.481, -37.797, 112.0]]) + [16, 128, 128]
    out_img = _convert_output_type_range(out_img, img_type)
    return out_img


def _convert_input_type_range(img):
    img_type = img.dtype
    img = img.astype(np.float32)
    if img_type == np.float32:
        pass
    elif img_type == np.uint8:
        img /= 255.
    else:
        raise TypeError(f'The img type should be np.float32 or np.uint8, but got {img_type}')
    return img


def _convert_output_type_range(img, dst_type):
    if dst_type not in (np.uint8, np.float32):
        raise TypeError(f'The dst_type should be np.float32 or np.uint8, but got {dst_type}')
    if dst_type == np.uint8:
        img = img.round()
    else:
        img /= 255.
    return img.astype(dst_type)


# BasicSR, verbatim (basicsr/metrics/metric_util.py)
def reorder_image(img, input_order='HWC'):
    if input_order not in ['HWC', 'CHW']:
        raise ValueError(f"Wrong input_order {input_order}. Supported input_orders are 'HWC' and 'CHW'")
    if len(img.shape) == 2:
        img = img[..., None]
        return img
    if input_order == 'CHW':
        img = img.transpose(1, 2, 0)
    return img


def to_y_channel(img):
    img = img.astype(np.float32) / 255.
    if img.ndim == 3 and img.shape[2] == 3:
        img = bgr2ycbcr(img, y_only=True)
        img = img[..., None]
    return img * 255.


# BasicSR, verbatim (basicsr/metrics/psnr_ssim.py)
def calculate_psnr(img, img2, crop_border, input_order='HWC', test_y_channel=False, **kwargs):
    assert img.shape == img2.shape, (f'Image shapes are different: {img.shape}, {img2.shape}.')
    if input_order not in ['HWC', 'CHW']:
        raise ValueError(f'Wrong input_order {input_order}. Supported input_orders are "HWC" and "CHW"')
    img = reorder_image(img, input_order=input_order)
    img2 = reorder_image(img2, input_order=input_order)

    if crop_border != 0:
        img = img[crop_border:-crop_border, crop_border:-crop_border, ...]
        img2 = img2[crop_border:-crop_border, crop_border:-crop_border, ...]

    if test_y_channel:
        img = to_y_channel(img)
        img2 = to_y_channel(img2)

    img = img.astype(np.float64)
    img2 = img2.astype(np.float64)

    mse = np.mean((img - img2)**2)
    if mse == 0:
        return float('inf')
    return 10. * np.log10(255. * 255. / mse)


def calculate_ssim(img, img2, crop_border, input_order='HWC', test_y_channel=False, **kwargs):
    assert img.shape == img2.shape, (f'Image shapes are different: {img.shape}, {img2.shape}.')
    if input_order not in ['HWC', 'CHW']:
        raise ValueError(f'Wrong input_order {input_order}. Supported input_orders are "HWC" and "CHW"')
    img = reorder_image(img, input_order=input_order)
    img2 = reorder_image(img2, input_order=input_order)

    if crop_border != 0:
        img = img[crop_border:-crop_border, crop_border:-crop_border, ...]
        img2 = img2[crop_border:-crop_border, crop_border:-crop_border, ...]

    if test_y_channel:
        img = to_y_channel(img)
        img2 = to_y_channel(img2)

    img = img.astype(np.float64)
    img2 = img2.astype(np.float64)

    ssims = []
    for i in range(img.shape[2]):
        ssims.append(_ssim(img[..., i], img2[..., i]))
    return np.array(ssims).mean()


def _ssim(img, img2):
    c1 = (0.01 * 255)**2
    c2 = (0.03 * 255)**2
    kernel = cv2.getGaussianKernel(11, 1.5)
    window = np.outer(kernel, kernel.transpose())

    mu1 = cv2.filter2D(img, -1, window)[5:-5, 5:-5]  # valid mode for window size 11
    mu2 = cv2.filter2D(img2, -1, window)[5:-5, 5:-5]
    mu1_sq = mu1**2
    mu2_sq = mu2**2
    mu1_mu2 = mu1 * mu2
    sigma1_sq = cv2.filter2D(img**2, -1, window)[5:-5, 5:-5] - mu1_sq
    sigma2_sq = cv2.filter2D(img2**2, -1, window)[5:-5, 5:-5] - mu2_sq
    sigma12 = cv2.filter2D(img * img2, -1, window)[5:-5, 5:-5] - mu1_mu2

    ssim_map = ((2 * mu1_mu2 + c1) * (2 * sigma12 + c2)) / ((mu1_sq + mu2_sq + c1) * (sigma1_sq + sigma2_sq + c2))
    return ssim_map.mean()
# ----------------------------------------------------------------------------------------------


def load(rel, gray):
    path = os.path.join(SHARED, 'datasets', rel)
    img = cv2.imread(path, cv2.IMREAD_GRAYSCALE if gray else cv2.IMREAD_COLOR)
    if img is None:
        sys.exit(f'cannot read {path}')
    return img if gray else img[..., ::-1]  # RGB


def centre_crop(img, h, w):
    top = (img.shape[0] - h) // 2
    left = (img.shape[1] - w) // 2
    return np.ascontiguousarray(img[top:top + h, left:left + w])


def degrade(clean, kind, seed):
    x = clean.astype(np.float64)
    if kind == 'noise25':
        rng = np.random.default_rng(seed)
        y = x + rng.normal(0.0, 25.0, size=x.shape)
    elif kind == 'blur':
        # Gaussian blur 7x7, sigma 1.6 (cv2, reflect-101 border), then mild noise sigma 5
        y = cv2.GaussianBlur(x, (7, 7), 1.6)
        rng = np.random.default_rng(seed)
        y = y + rng.normal(0.0, 5.0, size=x.shape)
    else:
        raise ValueError(kind)
    return np.clip(np.round(y), 0, 255).astype(np.uint8)


IMAGES = [
    ('cbsd68/0000.png', False, 64, 80),
    ('cbsd68/0007.png', False, 64, 80),
    ('cbsd68/0021.png', False, 80, 64),
    ('cbsd68/0042.png', False, 57, 73),
    ('kodak24/kodim05.png', False, 72, 96),
    ('kodak24/kodim23.png', False, 96, 72),
    ('bsd68-gray/test003.png', True, 64, 80),
    ('bsd68-gray/test031.png', True, 70, 61),
]
DEGRADATIONS = ['noise25', 'blur']
SETTINGS = [(0, False), (4, False), (0, True), (4, True)]  # (crop_border, test_y_channel)


def b64(a):
    return base64.b64encode(np.ascontiguousarray(a).tobytes()).decode('ascii')


def main():
    entries = []
    f32_vs_f64 = 0.0
    for idx, (rel, gray, h, w) in enumerate(IMAGES):
        clean = centre_crop(load(rel, gray), h, w)
        c = 1 if gray else 3
        item = {'name': rel, 'shape': [h, w, c], 'clean': b64(clean), 'degraded': []}
        for di, kind in enumerate(DEGRADATIONS):
            deg = degrade(clean, kind, seed=1000 + 10 * idx + di)
            # BasicSR sees BGR uint8 HWC images in [0, 255] (cv2.imread); grayscale as HW.
            a = clean if gray else clean[..., ::-1]
            b = deg if gray else deg[..., ::-1]
            basicsr = {}
            for crop, y in SETTINGS:
                key = f'crop{crop}_{"y" if y else "rgb"}'
                basicsr[key] = {
                    'psnr': float(calculate_psnr(b, a, crop, test_y_channel=y)),
                    'ssim': float(calculate_ssim(b, a, crop, test_y_channel=y)),
                }
            # scikit-image on float64 images in [0, 1] (data_range 1), and on uint8 (data_range 255).
            ca = clean.astype(np.float64) / 255.0
            da = deg.astype(np.float64) / 255.0
            axis = None if gray else 2
            sk = float(structural_similarity(da, ca, data_range=1.0, channel_axis=axis))
            sk255 = float(structural_similarity(deg, clean, data_range=255, channel_axis=axis))
            sk_f32 = float(structural_similarity(da.astype(np.float32), ca.astype(np.float32), data_range=1.0, channel_axis=axis))
            f32_vs_f64 = max(f32_vs_f64, abs(sk_f32 - sk))
            skp = float(peak_signal_noise_ratio(ca, da, data_range=1.0))
            item['degraded'].append({
                'kind': kind,
                'seed': 1000 + 10 * idx + di,
                'data': b64(deg),
                'basicsr': basicsr,
                'skimage': {'ssim': sk, 'ssim_uint8_range255': sk255, 'ssim_float32_inputs': sk_f32, 'psnr': skp},
            })
        entries.append(item)
    out = {
        'generator': 'packages/metrics/scripts/make-reference.py',
        'versions': {'python': platform.python_version(), 'numpy': np.__version__, 'skimage': skimage.__version__, 'cv2': cv2.__version__},
        'layout': 'uint8, HWC, RGB (grayscale: C=1), row-major, base64',
        'note': 'pred = degraded, target = clean; basicsr keys: crop<crop_border>_<rgb|y>',
        'images': entries,
    }
    with open(OUT, 'w') as f:
        json.dump(out, f, indent=1)
    print(f'wrote {OUT} ({os.path.getsize(OUT)} bytes); skimage float32-vs-float64 inputs max |diff| {f32_vs_f64:.3g}')


if __name__ == '__main__':
    main()
