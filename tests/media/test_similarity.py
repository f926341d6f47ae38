"""Pure near-duplicate machinery: the Hamming index, probe hashes, verification, grouping,
pair checks and the keeper rules. No database."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageEnhance, ImageFilter

from app.media import keeper, similarity
from app.pipeline.duplicates import different_shots


def brute_pairs(q, t, radius, self_join=False):
    d = np.bitwise_count(q[:, None] ^ t[None, :])
    i, j = np.nonzero(d <= radius)
    pairs = set(zip(i.tolist(), j.tolist(), strict=True))
    return {(a, b) for a, b in pairs if a < b} if self_join else pairs


def random_hashes(rng, n):
    return rng.integers(0, np.iinfo(np.uint64).max, n, dtype=np.uint64, endpoint=True)


def plant(rng, h, copies, max_flips):
    for _ in range(copies):
        a, b = rng.choice(len(h), 2, replace=False)
        flips = rng.choice(64, int(rng.integers(0, max_flips + 1)), replace=False)
        h[b] = h[a] ^ np.uint64(sum(1 << int(x) for x in flips))


@pytest.fixture(params=["sorted keys", "direct table"])
def key_lookup(request, monkeypatch):
    """Both ways a block's target keys are looked up: the sorted keys (few targets) and the
    direct-address table (many), forced on inputs of the same size."""
    monkeypatch.setattr(similarity, "DENSE_FILL", 1 << 30 if request.param == "direct table" else 1)
    return request.param


@pytest.mark.parametrize("radius", [0, 2, 5, 6, 8])
def test_radius_pairs_finds_exactly_what_brute_force_finds(radius, key_lookup):
    rng = np.random.default_rng(radius)
    h = random_hashes(rng, 3000)
    plant(rng, h, 400, radius + 2)
    i, j, d = similarity.radius_pairs(h, h, radius, self_join=True)
    found = set(zip(i.tolist(), j.tolist(), strict=True))
    assert found == brute_pairs(h, h, radius, self_join=True)
    assert len(found) == len(i), "each pair is reported once"
    assert (d == np.bitwise_count(h[i] ^ h[j])).all()


def test_radius_pairs_between_two_sets_and_empty_input(key_lookup):
    rng = np.random.default_rng(1)
    q, t = random_hashes(rng, 500), random_hashes(rng, 2000)
    t[:300] = q[:300] ^ np.uint64(0b1011)  # three bits away
    i, j, _ = similarity.radius_pairs(q, t, 5)
    assert set(zip(i.tolist(), j.tolist(), strict=True)) == brute_pairs(q, t, 5)
    assert all(len(x) == 0 for x in similarity.radius_pairs(q[:0], t, 5))


@pytest.mark.parametrize("radius", [2, 5])
def test_radius_pairs_few_against_many_finds_what_brute_force_finds(radius):
    # an import's few hashes against a library's many, either way round (the one-pass path)
    rng = np.random.default_rng(radius + 10)
    few, many = random_hashes(rng, 40), random_hashes(rng, 4000)
    many[::100] = few ^ np.uint64(0b1) << np.arange(40, dtype=np.uint64)  # one bit away
    many[1::100] = few ^ np.uint64((1 << radius) - 1)  # exactly `radius` bits away
    many[2::100] = few ^ np.uint64((1 << (radius + 1)) - 1)  # one bit too far
    for q, t in ((few, many), (many, few)):
        i, j, d = similarity.radius_pairs(q, t, radius)
        found = set(zip(i.tolist(), j.tolist(), strict=True))
        assert found == brute_pairs(q, t, radius)
        assert len(found) == len(i), "each pair is reported once"
        assert (d == np.bitwise_count(q[i] ^ t[j])).all()


def test_probe_pairs_reports_the_closest_window_once_per_pair():
    full = np.array([0b1111, 0], dtype=np.uint64)
    probes = np.array([[0, 0b0111, 0b1111], [0b1, 0b11, 0b111]], dtype=np.uint64)
    i, j, d, w = similarity.probe_pairs(full, probes, radius=3)
    rows = set(zip(i.tolist(), j.tolist(), d.tolist(), w.tolist(), strict=True))
    assert (0, 0, 0, 2) in rows  # full[0] equals window 2 of probes[0]
    assert len({(a, b) for a, b, _, _ in rows}) == len(rows)


def test_star_groups_do_not_chain_and_verify_only_centre_member_pairs():
    # a slow pan: each picture close to the next, the ends far apart
    chain = {n: {m for m in (n - 1, n + 1) if 0 <= m < 7} for n in range(7)}
    asked = []

    def verify(a, b):
        asked.append((a, b))
        return True

    groups = similarity.star_groups(chain, verify)
    for centre, members in groups:
        assert all(m in chain[centre] for m in members)  # every member next to its centre
        assert len(members) <= 2
    assert all(b in chain[a] for a, b in asked)
    assert sum(1 + len(m) for _, m in groups) >= 6


def test_star_groups_centre_is_the_best_connected_and_rejected_pairs_stay_free():
    # 0 is the original, 1..4 its copies; 5 is a candidate of 0 that does not verify
    graph = {0: {1, 2, 3, 4, 5}, 1: {0}, 2: {0}, 3: {0}, 4: {0}, 5: {0}}
    groups = similarity.star_groups(graph, lambda a, b: 5 not in (a, b))
    assert groups == [(0, [1, 2, 3, 4])]


def textured(seed: int, size=(480, 360)) -> Image.Image:
    """A photo-like picture: smooth random blobs plus detail."""
    rng = np.random.default_rng(seed)
    base = rng.random((9, 12, 3)) * 255
    img = Image.fromarray(base.astype(np.uint8)).resize(size, Image.Resampling.BICUBIC)
    noise = Image.fromarray((rng.random((size[1] // 4, size[0] // 4, 3)) * 255).astype(np.uint8))
    noise = noise.resize(size, Image.Resampling.BICUBIC).filter(ImageFilter.GaussianBlur(1))
    return Image.blend(img, noise, 0.35)


def fp(image: Image.Image) -> bytes:
    return similarity.fingerprint(image)


def test_fingerprint_compare_accepts_copies_and_rejects_other_pictures():
    original = textured(1)
    w, h = original.size
    crop = original.crop((int(w * 0.05), 0, w, int(h * 0.95))).resize((300, 213))
    darker = ImageEnhance.Brightness(original).enhance(0.88)
    assert similarity.compare(fp(original), fp(original)).score == pytest.approx(1.0, abs=1e-4)
    for copy in (crop, darker, original.resize((160, 120))):
        match = similarity.compare(fp(original), fp(copy))
        assert match.is_near(), match
    other = similarity.compare(fp(original), fp(textured(2)))
    assert not other.is_near() and not other.is_similar()


def test_probe_hashes_bring_a_cropped_copy_within_the_radius():
    original = textured(3)
    w, h = original.size
    crop = original.crop((0, 0, int(w * 0.95), int(h * 0.95)))
    ph, dh = similarity.probe_hashes(np.stack([similarity.as_array(fp(original)), similarity.as_array(fp(crop))]))
    assert ph.shape == (2, similarity.N_PROBES)
    best = min(int(np.bitwise_count(ph[1, 0] ^ ph[0]).min()), int(np.bitwise_count(dh[1, 0] ^ dh[0]).min()))
    assert best <= similarity.RADIUS


def facts(**kw):
    base = dict(width=4000, height=3000, mean_color=0x807060, contrast=50.0)
    return similarity.Facts(**{**base, **kw})


def test_pair_checks():
    assert facts().why_not(facts()) is None
    assert facts().why_not(facts(width=3800)) is None  # a 5 % crop on one side
    assert facts(contrast=0.0).why_not(facts(contrast=0.0)) == "flat or blank picture"
    assert facts().why_not(facts(width=3000, height=4000)) == "different shapes"
    assert facts().why_not(facts(mean_color=0x302820)) == "different brightness"
    assert facts().why_not(facts(mean_color=0x307080)) == "different colours"
    assert facts().why_not(facts(mean_color=0x302820), strict=False) is None  # a retake may be darker
    assert facts().why_not(facts(media_kind="video")) == "a photo and a video"
    video = dict(media_kind="video", duration=12.0)
    assert facts(**video).why_not(facts(**{**video, "duration": 12.2})) is None
    assert facts(**video).why_not(facts(**{**video, "duration": 30.0})) == "different lengths"


def test_different_shots_from_camera_metadata():
    from datetime import datetime

    from app.pipeline.duplicates import Shot

    t = datetime(2019, 6, 15, 14, 30, 0)
    assert different_shots(Shot(t, camera="x100"), Shot(t, camera="x100")) is None
    assert different_shots(Shot(t), Shot()) is None  # a stripped copy
    assert different_shots(Shot(t, camera="x100"), Shot(t, camera="iphone 12")) == "taken with different cameras"
    assert different_shots(Shot(t), Shot(t.replace(second=26))) == "taken at different moments"
    assert different_shots(Shot(t), Shot(t.replace(second=1))) == "taken at different moments"  # a burst
    burst = Shot(t.replace(microsecond=300_000), subsec=True)
    assert different_shots(Shot(t.replace(microsecond=100_000), subsec=True), burst) == "taken at different moments"
    assert different_shots(Shot(t), burst) is None  # a converter dropped the sub-seconds
    assert different_shots(Shot(t), Shot(t.replace(hour=16))) is None  # a time-zone fix


def cand(i, **kw):
    base = dict(name=f"IMG_{i}.jpg", width=4032, height=3024, size=3_000_000, ext="jpg")
    return keeper.Candidate(id=i, **{**base, **kw})


def test_keeper_rules_in_order_with_reasons():
    whatsapp = cand(2, name="IMG-20190615-WA0001.jpg", width=1600, height=1200, size=200_000)
    kept, why = keeper.recommend([whatsapp, cand(1)])
    assert kept == 1 and why.startswith("Highest resolution: 4032×3024")

    same_size_copy = cand(2, relative_dir="WhatsApp Images")
    assert keeper.recommend([same_size_copy, cand(1)]) == (
        1,
        next(r for r in keeper.RULES if r.name == "camera_original").explain(cand(1), [same_size_copy]),
    )

    with_exif = cand(2, taken_source="exif:DateTimeOriginal", camera_model="X100")
    kept, why = keeper.recommend([cand(1), with_exif])
    assert kept == 2 and "capture time" in why

    kept, why = keeper.recommend([cand(1, ext="png", size=9_000_000), cand(2)])
    assert kept == 2 and why == "Better format: JPEG rather than PNG"

    kept, why = keeper.recommend([cand(1, size=2_000_000), cand(2)])
    assert kept == 2 and why.startswith("Largest file")

    kept, why = keeper.recommend([cand(1, name="IMG_1 (1).jpg"), cand(2)])
    assert kept == 2 and "named like copies" in why

    kept, why = keeper.recommend([cand(1, relative_dir="a/b/c"), cand(2, relative_dir="a")])
    assert kept == 2 and "shortest path" in why

    kept, why = keeper.recommend([cand(7), cand(3)])
    assert kept == 3 and "imported first" in why

    kept, why = keeper.recommend([cand(1, discarded=True, width=8000), cand(2)])
    assert kept == 2 and "set aside" in why


def test_star_groups_order_puts_the_original_first():
    # 9 is the large original; 1 and 2 are crops from opposite sides that do not match each other
    graph = {9: {1, 2}, 1: {9, 2}, 2: {9, 1}}
    size = {9: 4000, 1: 3800, 2: 3800}
    groups = similarity.star_groups(graph, lambda a, b: 9 in (a, b), order=lambda n: (-size[n],))
    assert groups == [(9, [1, 2])]
