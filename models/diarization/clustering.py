"""The numerical steps of the embedded diarizer, free of models: speaker counting and
clustering of window embeddings, Viterbi smoothing of frame scores, and the matching of
clusters to known speakers. Everything takes and returns numpy arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def cosine_matrix(vectors: np.ndarray) -> np.ndarray:
    """Cosine similarities of unit rows."""
    similarities: np.ndarray = np.clip(vectors @ vectors.T, -1.0, 1.0)
    return similarities


def centroids(vectors: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Unit mean vector of each cluster 0..k-1 (zero rows for empty clusters)."""
    out = np.zeros((k, vectors.shape[1]), np.float32)
    for c in range(k):
        members = vectors[labels == c]
        if len(members):
            mean = members.mean(axis=0)
            out[c] = mean / max(float(np.linalg.norm(mean)), 1e-12)
    return out


# --- speaker counting: spectral clustering with an auto-tuned eigengap (NME-SC) ----------


@dataclass(frozen=True)
class SpectralResult:
    k: int
    labels: np.ndarray
    pruning: int  # neighbours kept per row
    gap_ratio: float  # how clear the eigengap was (larger is clearer)


def _laplacian_eigen(
    affinity: np.ndarray, keep: int, links: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Keep each row's `keep` strongest links, binarise, add `links`, symmetrise; eigen of the Laplacian."""
    n = len(affinity)
    order = np.argsort(-affinity, axis=1)[:, :keep]
    graph = np.zeros_like(affinity)
    np.put_along_axis(graph, order, 1.0, axis=1)
    if links is not None:
        graph = np.maximum(graph, links)
    graph = (graph + graph.T) / 2
    np.fill_diagonal(graph, 0.0)
    laplacian = np.diag(graph.sum(axis=1)) - graph
    values, vectors = np.linalg.eigh(laplacian)
    return values[: min(n, 64)], vectors


def spectral_clusters(
    similarity: np.ndarray,
    *,
    min_k: int = 1,
    max_k: int = 8,
    exclude: np.ndarray | None = None,
    links: np.ndarray | None = None,
    seed: int = 0,
) -> SpectralResult:
    """Cluster by the eigengap of a pruned affinity graph, the pruning chosen per recording.

    Park et al.'s normalised maximum eigengap: for each pruning level p the largest gap among
    the first `max_k` eigenvalues, divided by the largest of them, rates how clearly the graph
    falls apart; the level with the best p / rating wins. No absolute similarity threshold is
    involved, so it adapts to the recording's channel.

    `exclude` marks pairs that may not count as neighbours (windows that overlap in time are
    alike because they share audio, not because they share a speaker); `links` are edges
    always kept (e.g. consecutive windows).
    """
    from sklearn.cluster import KMeans

    if exclude is not None:
        similarity = np.where(exclude, -2.0, similarity)

    n = len(similarity)
    max_k = max(1, min(max_k, n - 1))
    min_k = max(1, min(min_k, max_k))
    if n < 3 or max_k == 1:
        return SpectralResult(1, np.zeros(n, int), n, 0.0)
    best = None
    for keep in sorted({max(2, round(n * f)) for f in (0.1, 0.15, 0.2, 0.25, 0.3, 0.4)}):
        if keep >= n:
            continue
        values, vectors = _laplacian_eigen(similarity, keep, links)
        gaps = np.diff(values[: max_k + 1])
        k = int(np.argmax(gaps[min_k - 1 :]) + min_k)
        rating = float(gaps[k - 1] / max(values[max_k], 1e-9))
        score = keep / max(rating, 1e-9)
        if best is None or score < best[0]:
            best = (score, keep, k, rating, vectors)
    if best is None:
        return SpectralResult(1, np.zeros(n, int), n, 0.0)
    _, keep, k, rating, vectors = best
    if k == 1:
        return SpectralResult(1, np.zeros(n, int), keep, rating)
    embedding = vectors[:, :k]
    labels = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(embedding)
    return SpectralResult(k, labels, keep, rating)


def merge_close(
    vectors: np.ndarray, labels: np.ndarray, threshold: float, *, min_k: int = 1
) -> np.ndarray:
    """Merge the two clusters whose centroids are most alike while that exceeds `threshold`."""
    labels = relabel(labels)
    while True:
        k = int(labels.max()) + 1 if len(labels) else 0
        if k <= max(1, min_k):
            return labels
        cents = centroids(vectors, labels, k)
        sims = cosine_matrix(cents)
        np.fill_diagonal(sims, -1)
        a, b = np.unravel_index(int(np.argmax(sims)), sims.shape)
        if sims[a, b] < threshold:
            return labels
        labels = relabel(np.where(labels == b, a, labels))


def runs(labels: np.ndarray) -> list[tuple[int, int, int]]:
    """Maximal runs of equal labels as (label, first index, end index)."""
    out = []
    start = 0
    for i in range(1, len(labels) + 1):
        if i == len(labels) or labels[i] != labels[start]:
            out.append((int(labels[start]), start, i))
            start = i
    return out


def transitional_clusters(labels: np.ndarray, max_run: int, share: float = 0.75) -> set[int]:
    """Clusters made of windows that straddle speaker changes.

    A window that holds the end of one turn and the start of the next has an embedding between
    the two speakers', and such windows form clusters of their own. Their runs are short (at
    most `max_run` windows) and bridge two runs of two *different* clusters; a cluster with at
    least `share` of its windows in such bridges is transitional, not a speaker.
    """
    spans = runs(labels)
    total: dict[int, int] = {}
    bridging: dict[int, int] = {}
    for i, (label, start, end) in enumerate(spans):
        total[label] = total.get(label, 0) + end - start
        if 0 < i < len(spans) - 1 and end - start <= max_run:
            if spans[i - 1][0] != spans[i + 1][0]:
                bridging[label] = bridging.get(label, 0) + end - start
    found = {label for label in total if bridging.get(label, 0) >= share * total[label]}
    if len(found) >= len(total):  # never everything
        return set()
    return found


def relabel(labels: np.ndarray) -> np.ndarray:
    """Renumber cluster ids to 0..k-1 in order of first appearance."""
    mapping: dict[int, int] = {}
    out = np.empty(len(labels), int)
    for i, label in enumerate(labels):
        out[i] = mapping.setdefault(int(label), len(mapping))
    return out


def ahc_clusters(vectors: np.ndarray, threshold: float) -> np.ndarray:
    """Average-linkage agglomerative clustering, cut where cosine similarity drops below `threshold`."""
    from scipy.cluster.hierarchy import fcluster, linkage

    if len(vectors) < 2:
        return np.zeros(len(vectors), int)
    tree = linkage(vectors, method="average", metric="cosine")
    return relabel(fcluster(tree, t=1.0 - threshold, criterion="distance") - 1)


# --- smoothing -----------------------------------------------------------------------------


def viterbi(scores: np.ndarray, switch_penalty: float | np.ndarray) -> np.ndarray:
    """Best label path through (frames, k) scores, paying `switch_penalty` per change.

    `switch_penalty` may be one number or one per frame (the price of changing speaker
    between frame t-1 and frame t), e.g. cheaper at pauses.
    """
    n, k = scores.shape
    if n == 0:
        return np.zeros(0, int)
    penalties = np.broadcast_to(np.asarray(switch_penalty, dtype=np.float64), (n,))
    total = scores[0].astype(np.float64).copy()
    back = np.zeros((n, k), dtype=np.int32)
    for t in range(1, n):
        best_prev = int(np.argmax(total))
        switch = total[best_prev] - penalties[t]
        stay = total
        back[t] = np.where(stay >= switch, np.arange(k), best_prev)
        total = np.maximum(stay, switch) + scores[t]
    path = np.empty(n, int)
    path[-1] = int(np.argmax(total))
    for t in range(n - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path


# --- known speakers ------------------------------------------------------------------------


def match_known(
    cluster_vectors: np.ndarray, known_vectors: np.ndarray, threshold: float
) -> dict[int, int]:
    """Cluster index -> known-speaker index, one-to-one (Hungarian), similarity >= `threshold`."""
    from scipy.optimize import linear_sum_assignment

    if not len(cluster_vectors) or not len(known_vectors):
        return {}
    sims = cluster_vectors @ known_vectors.T
    rows, cols = linear_sum_assignment(-sims)
    return {int(r): int(c) for r, c in zip(rows, cols, strict=True) if sims[r, c] >= threshold}
