"""Memory bounded by bytes: what the server keeps of large photos, whatever visitors upload."""

import numpy as np

from ic.cache import ByteCache
from ic.experiment import KEEP_FULL_BYTES, EditSession
from ic.images import decode_image, encode_png
from ic.inpaint import get_inpainter


def test_the_decoded_photos_cache_keeps_to_its_bytes_and_shares_read_only_arrays():
    cache = ByteCache(max_bytes=30_000_000)
    photos = [np.full((2000, 2000, 3), i, np.uint8) for i in range(4)]  # 12 MB each
    kept = [cache.get_or_make(i, lambda i=i: photos[i]) for i in range(4)]
    assert len(cache) == 2 and cache.bytes == 24_000_000  # the two newest: the budget holds, not a count
    assert cache.get_or_make(3, lambda: 1 / 0) is kept[3]  # a hit makes nothing
    assert not kept[3].flags.writeable  # one visitor cannot change another's photo
    huge = cache.get_or_make("huge", lambda: np.zeros((4000, 4000, 3), np.uint8))  # 48 MB: over the whole budget
    assert huge.shape == (4000, 4000, 3) and len(cache) == 2 and cache.bytes == 24_000_000  # returned, not kept


def test_a_large_photo_is_not_kept_decoded_beside_its_edit_and_exports_the_same(lite0):
    rng = np.random.default_rng(1)
    photo = rng.integers(0, 255, (3000, 6000, 3), dtype=np.uint8)  # 54 MB decoded
    assert photo.nbytes > KEEP_FULL_BYTES
    data = encode_png(photo)
    decodes = []

    def reload():
        decodes.append(1)
        return decode_image(data)

    light, heavy = EditSession(photo, "big.png", reload=reload), EditSession(photo, "big.png")
    assert light._full is None and heavy._full is photo  # only the working copy is kept in memory
    mask = np.zeros(light.shape, bool)
    mask[100:160, 200:260] = True
    for edit in (light, heavy):
        edit.apply(mask, get_inpainter("telea"), lite0)
    assert np.array_equal(light.export(), heavy.export())  # decoded again, the same full-size export
    assert light.export_mask().shape == (3000, 6000) and len(decodes) == 1  # the mask's size needs no decode
    assert light.full_shape == (3000, 6000)
