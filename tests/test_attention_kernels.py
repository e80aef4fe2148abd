"""The attention kernels of ``verify.numerics.attention`` against references computed independently of them.

Each reference is written from the definition (a softmax of explicit exponentials, a weighted sum over the atoms of a
discrete prompt law, the exact value a tilted mean takes), never from the kernel under test nor the closed form it
implements; the inputs sit on both sides of every boundary the kernels test (the batch-size limit, the query's rank).
"""

import math

import numpy as np
import pytest

from verify.numerics import attention
from verify.numerics.attention import softmax_attention, softmax_batch_means, softmax_weights
from verify.numerics.measures import Rademacher


def _softmax_by_hand(scores, axis):
    """exp(s) / sum exp(s) along ``axis``, one slice at a time with math.exp (scores small enough not to overflow)."""
    s = np.asarray(scores, dtype=float)
    out = np.empty_like(s)
    moved, target = np.moveaxis(s, axis, -1), np.moveaxis(out, axis, -1)
    for idx in np.ndindex(moved.shape[:-1]):
        e = [math.exp(x) for x in moved[idx]]
        target[idx] = [x / math.fsum(e) for x in e]
    return out


@pytest.mark.parametrize("shape, axis", [((3, 5), 1), ((4, 4), 1), ((3, 5), 0), ((2, 3, 4), 2), ((2, 3, 4), 1)])
def test_softmax_weights_normalise_along_the_requested_axis(shape, axis):
    scores = np.random.default_rng(1).normal(scale=3.0, size=shape)
    assert np.allclose(softmax_weights(scores, axis=axis), _softmax_by_hand(scores, axis), rtol=1e-13, atol=0)


def test_query_of_rank_three_is_refused_naming_z():
    with pytest.raises(ValueError, match="z"):
        softmax_attention(np.ones((2, 2)), np.ones((3, 2, 2)), np.eye(2), np.eye(2), np.eye(2))


def test_batch_of_queries_accepted_in_dimension_above_256():
    # d = 300: the query length is compared by value with the token length, not by identity
    d, rng = 300, np.random.default_rng(2)
    tokens, queries = rng.normal(size=(2, d)), rng.normal(size=(3, d)) / d
    out = softmax_attention(tokens, queries, np.eye(d), np.eye(d), np.eye(d))
    for q, row in zip(queries, out):
        w = _softmax_by_hand(tokens @ q, 0)
        assert np.allclose(row, w @ tokens, rtol=1e-12, atol=1e-14)


def test_batch_size_limit_admits_exactly_the_limit(monkeypatch):
    # per * L * d = 4 * 5 * 2 = 40 floats a batch
    def run():
        return softmax_batch_means(Rademacher(2), np.eye(2), np.eye(2), np.eye(2), [0.5, -0.25], L=5, prompts=8,
                                   rng=np.random.default_rng(0), batches=2)

    monkeypatch.setattr(attention, "MAX_BATCH_FLOATS", 40)
    assert run().shape == (2, 2)
    monkeypatch.setattr(attention, "MAX_BATCH_FLOATS", 39)
    with pytest.raises(ValueError) as err:
        run()
    assert "a batch of 4 prompts x L=5 tokens x d=2 is 40 floats, above the limit of 39" in str(err.value)


def test_a_single_token_prompt_returns_its_value():
    # L = 1: the one softmax weight is 1, so the output is V z_1 whatever the query
    V = np.array([[1.0, 2.0], [-0.5, 3.0]])
    out = softmax_attention(np.array([[0.25, -1.0]]), [[3.0, 1.0], [-2.0, 0.5]], np.eye(2), np.eye(2), V)
    assert np.array_equal(out, np.array([[-1.75, -3.125]] * 2))


def test_batch_means_stay_finite_at_huge_scores():
    # Rademacher tokens, score 400 * z_l: the tilted mean is (n+ e^400 - n- e^-400)/(n+ e^400 + n- e^-400) = 1 to
    # double precision unless all 50 tokens are -1 (probability 2^-50)
    out = softmax_batch_means(Rademacher(1), [[1.0]], [[1.0]], [[1.0]], [400.0], L=50, prompts=40,
                              rng=np.random.default_rng(4), batches=20)
    assert np.all(out == 1.0)


class _Admitted(Exception):
    """Raised by :class:`_NoSampling` when the kernel gets past its batch-size check and asks for tokens."""


class _NoSampling:
    dim = 2

    def sample(self, n, rng):
        raise _Admitted(n)


def test_batch_size_limit_is_two_to_the_24_floats():
    # 2^22 prompts a batch x L = 2 x d = 2 is 2^24 floats: admitted (sampling is reached); 2^22 + 1 prompts is refused
    args = (np.eye(2), np.eye(2), np.eye(2), [1.0, 0.0])
    with pytest.raises(_Admitted) as admitted:
        softmax_batch_means(_NoSampling(), *args, L=2, prompts=2 * 2**22, rng=None, batches=2)
    assert admitted.value.args == (2**23,)
    with pytest.raises(ValueError, match="above the limit of 16777216"):
        softmax_batch_means(_NoSampling(), *args, L=2, prompts=2 * (2**22 + 1), rng=None, batches=2)


def test_batch_means_default_to_forty_batches_and_need_at_least_two():
    mu, args = Rademacher(1), ([[1.0]], [[1.0]], [[1.0]], [0.5])
    assert softmax_batch_means(mu, *args, L=2, prompts=40, rng=np.random.default_rng(0)).shape == (40, 1)
    assert [e.n for e in attention.softmax_estimates(mu, *args, 2, 80, np.random.default_rng(0))] == [40]
    assert softmax_batch_means(mu, *args, L=2, prompts=4, rng=np.random.default_rng(0), batches=2).shape == (2, 1)
    with pytest.raises(ValueError, match="batches"):  # one batch has no standard error
        softmax_batch_means(mu, *args, L=2, prompts=4, rng=np.random.default_rng(0), batches=1)


@pytest.mark.parametrize("length", [1, 3])
def test_batch_of_queries_of_the_wrong_length_is_refused_with_the_token_length(length):
    tokens = np.ones((3, 2))  # L = 3 tokens of length d = 2; queries one shorter or one longer
    with pytest.raises(ValueError) as err:
        softmax_attention(tokens, np.ones((4, length)), np.eye(2), np.eye(2), np.eye(2))
    assert f"z: expected queries of length 2, got shape (4, {length})" in str(err.value)


def test_softmax_weights_default_to_the_first_axis():
    # scores of L = 3 tokens (rows) for n = 2 queries (columns): each column is a distribution over the tokens
    scores = np.array([[0.5, -1.0], [2.0, 0.0], [-0.25, 1.5]])
    assert np.allclose(softmax_weights(scores), _softmax_by_hand(scores, 0), rtol=1e-13, atol=0)
