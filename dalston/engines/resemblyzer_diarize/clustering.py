"""Group window embeddings into speakers and decide how many there are.

Partition: Ward linkage on the unit-length embeddings (for unit vectors, Euclidean
Ward is the variance criterion on cosine distance), then a few k-means-style passes
that move each window to its nearest centroid, fixing windows the greedy merges
placed badly. On the corpus this beat average/complete linkage, k-means and
spectral clustering when the speaker count was given.

Count: absolute cosine thresholds did not transfer between recordings (telephone
audio squeezes all Resemblyzer distances together, far-field meetings spread them),
so a group of windows is split in two only if the split *explains* enough of the
group's spread: with ``fit`` the mean cosine similarity of windows to their
cluster's centroid, the gain is ``(fit(halves) - fit(whole)) / (1 - fit(whole))``.
Splitting one voice gains more the fewer windows it has (a 6 s clip ~0.4, 30 s
~0.13, a minute ~0.09; over 200 single-speaker crops of the ASR corpus,
``log gain = 0.25 - 0.66 log n``, sd 0.15), so a split must beat that curve at its
90th percentile, or a floor for long groups (``SplitRule``). Groups are tested
top-down along the Ward tree, most significant first, each against its own size.
The division only decides the count: the partition is then the tree cut at that
count, the one a request that gives the count gets, so both agree. A request for
more speakers than the division finds (``num_speakers``, ``min_speakers``) gets
the extra ones as the windows least like their voice: the voices did not stand
apart, so the missing speakers said little, and cutting the tree deeper would
halve a clear voice instead (on the corpus, given counts: confusion 16.0 s ->
9.9 s of 231 s; a 26 s single voice asked as two: 10 s of it relabelled -> 1 s).
On the diarization corpus, true first splits clear the rule by 0.1-0.9 in log
gain (pyannote_sample, the closest pair of voices, by 0.06); far-field AMI
speakers with a few seconds each often do not.

The tree needs all pairwise distances (quadratic memory), so long recordings build
it from an evenly spread subset of ``max_tree_windows`` and the other windows join
their nearest centroid.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

MAX_SPEAKERS = 32  # the API's bound; an automatic count never goes beyond it


@dataclass(frozen=True)
class SplitRule:
    """The gain a new speaker must bring, by the number of windows clustered."""

    scale: float = 1.56  # exp(0.25 + 0.2): the single-voice curve at ~its q90
    power: float = 0.66
    floor: float = 0.12  # long recordings: single voices gain 0.06-0.11

    def threshold(self, windows: int, strictness: float = 1.0) -> float:
        curve = self.scale * max(windows, 1) ** -self.power
        return strictness * max(self.floor, curve)


@dataclass(frozen=True)
class ClusterOptions:
    refine_passes: int = 5
    max_tree_windows: int = 2000
    min_cluster_windows: int = 2  # an automatic speaker needs this many windows
    # Fewer windows than this (about 8 s of speech) are one voice unless the request
    # asks for more: on so little the split test cannot tell a second voice from
    # one voice's drift (before this rule 4 of 51 single-speaker clips of the ASR
    # corpus split, 3 of them with 6 windows).
    min_windows_to_split: int = 10
    # Up to this many windows (~15 s of speech), an automatic count asks the first
    # split (is there more than one voice at all?) for more gain: by a margin
    # falling from ``first_split_margin`` at ``min_windows_to_split`` windows to
    # none here. The test has little power on so few windows, and a short clip
    # sent alone is most often one voice (a voice note, a dictation, a quote).
    # Measured on crops (9-20 s) of the corpus: of 57 single-voice crops with
    # 10-14 windows 5 split (whisper_jfk among them), with the margin 1; of 55
    # crops of meetings with two or more voices there, 36 -> 25 are split; with
    # 15-19 windows no single-voice crop split either way (0 of 28) and 18 -> 16
    # of 25 meeting crops still are. A count or a minimum in the request skips
    # the margin.
    first_split_margin: float = 1.1
    first_split_margin_until: int = 20
    split: SplitRule = field(default_factory=SplitRule)


@dataclass(frozen=True)
class SpeakerCount:
    """What the request says about the count; all ``None``: find it."""

    num_speakers: int | None = None
    min_speakers: int | None = None
    max_speakers: int | None = None

    @property
    def automatic(self) -> bool:
        """Whether the count is left to the windows (no count, no minimum above 1)."""
        return self.num_speakers is None and (self.min_speakers or 1) <= 1


def assign_speakers(
    embeddings: np.ndarray,
    count: SpeakerCount,
    strictness: float = 1.0,
    options: ClusterOptions = ClusterOptions(),
) -> np.ndarray:
    """A speaker label per embedding, ``0..k-1``, every label used.

    ``strictness`` scales the split threshold (``diarization_threshold``).
    """
    n = len(embeddings)
    if n <= 1 or (count.automatic and n < options.min_windows_to_split):
        return np.zeros(n, dtype=int)
    vectors = embeddings.astype(np.float64)
    subset = np.unique(np.linspace(0, n - 1, min(n, options.max_tree_windows)))
    subset = subset.astype(int)
    k, partition = _partition(vectors[subset], count, strictness, options)
    if k <= 1:
        return np.zeros(n, dtype=int)
    labels = np.full(n, -1)
    labels[subset] = partition
    if len(subset) < n:
        rest = labels < 0
        labels[rest] = nearest(vectors[rest], centroids(vectors, labels, k))
    return refine(vectors, labels, k, options.refine_passes)


def centroids(embeddings: np.ndarray, labels: np.ndarray, count: int) -> np.ndarray:
    """Unit-length mean embedding per label ``0..count-1`` (-1 is ignored)."""
    means = np.stack([embeddings[labels == k].mean(axis=0) for k in range(count)])
    means = means.astype(np.float64)
    return means / np.maximum(np.linalg.norm(means, axis=1, keepdims=True), 1e-9)


def nearest(embeddings: np.ndarray, centres: np.ndarray) -> np.ndarray:
    return np.argmax(embeddings @ centres.T, axis=1)


def refine(
    embeddings: np.ndarray, labels: np.ndarray, count: int, passes: int
) -> np.ndarray:
    """Move windows to their nearest centroid while no speaker empties."""
    for _ in range(passes):
        moved = nearest(embeddings, centroids(embeddings, labels, count))
        if np.array_equal(moved, labels) or len(np.unique(moved)) < count:
            break
        labels = moved
    return labels


def fit(embeddings: np.ndarray, labels: np.ndarray, count: int) -> float:
    """Mean cosine similarity of each window to its cluster's centroid."""
    centres = centroids(embeddings, labels, count)
    return float(np.mean(np.sum(embeddings * centres[labels], axis=1)))


def cut_tree(tree: np.ndarray, n: int, k: int) -> np.ndarray:
    """Labels ``0..k-1`` after the first ``n - k`` merges of a scipy linkage.

    scipy's own ``cut_tree`` returns one cluster when asked for ``n`` of ``n``.
    """
    owner = np.arange(2 * n - 1)
    for i in range(n - k):
        owner[int(tree[i, 0])] = owner[int(tree[i, 1])] = n + i
    top = owner[:n]
    while not np.array_equal(owner[top], top):  # climb to each leaf's cluster
        top = owner[top]
    return np.unique(top, return_inverse=True)[1].astype(int)


def _partition(
    vectors: np.ndarray,
    count: SpeakerCount,
    strictness: float,
    options: ClusterOptions,
) -> tuple[int, np.ndarray]:
    """The speaker count and its labels for ``vectors``."""
    from scipy.cluster.hierarchy import linkage

    n = len(vectors)
    tree = np.asarray(linkage(vectors, "ward"))
    most = min(count.num_speakers or count.max_speakers or MAX_SPEAKERS, n)
    # How many voices the windows show (the division only decides the count: the
    # partition is the tree cut at it, as for a given count, so both agree).
    division = _Division(vectors, tree, strictness, options, count.automatic)
    voices = len(division.run(1, most))
    if count.num_speakers is not None:
        k = most
    else:
        k = max(voices, min(count.min_speakers or 1, most))
    passes = options.refine_passes
    if k <= voices:
        return k, refine(vectors, cut_tree(tree, n, k), k, passes)
    # The request wants more speakers than the voices show: the extra ones spoke
    # too little to stand apart. Cutting the tree deeper would halve a clear voice
    # (half its speech confused); the most atypical windows cost the least.
    labels = refine(vectors, cut_tree(tree, n, voices), voices, passes)
    for extra in range(voices, k):
        labels[_most_atypical(vectors, labels, extra)] = extra
    return k, refine(vectors, labels, k, passes)


def _most_atypical(vectors: np.ndarray, labels: np.ndarray, count: int) -> int:
    """The window least like its speaker's centroid, among speakers with more
    than one window."""
    own = np.sum(vectors * centroids(vectors, labels, count)[labels], axis=1)
    own[np.bincount(labels, minlength=count)[labels] <= 1] = np.inf
    return int(np.argmin(own))


class _Division:
    """Top-down over the Ward tree: split a group while the split is significant.

    A group of windows is one voice unless splitting it in two gains more than
    splitting a single voice of that many windows would (``SplitRule``). Testing
    each group on its own size, rather than the whole recording's, keeps a
    recording with many speakers from running out of gain after the first few.
    """

    def __init__(
        self,
        vectors: np.ndarray,
        tree: np.ndarray,
        strictness: float,
        options: ClusterOptions,
        automatic: bool = False,
    ) -> None:
        self.vectors = vectors
        self.tree = tree
        self.n = len(vectors)
        self.strictness = strictness
        self.options = options
        self.first_margin = _first_split_margin(self.n, options) if automatic else 1.0

    def run(self, low: int, most: int) -> list[np.ndarray]:
        """Member indices of each speaker's group."""
        groups = [(2 * self.n - 2, self._members(2 * self.n - 2))]
        scores = [self._significance(*groups[0])]
        while len(groups) < most:
            best = int(np.argmax(scores))
            # Below ``low`` speakers, split the most promising group regardless.
            if scores[best] < 1 and (len(groups) >= low or scores[best] < 0):
                break
            node, _ = groups.pop(best)
            scores.pop(best)
            for child in self.tree[node - self.n, :2].astype(int):
                members = self._members(child)
                groups.append((child, members))
                scores.append(self._significance(child, members))
        return [members for _, members in groups]

    def _members(self, node: int) -> np.ndarray:
        stack, leaves = [node], []
        while stack:
            current = stack.pop()
            if current < self.n:
                leaves.append(current)
            else:
                stack.extend(self.tree[current - self.n, :2].astype(int))
        return np.sort(np.array(leaves, dtype=int))

    def _significance(self, node: int, members: np.ndarray) -> float:
        """Split gain over the single-voice threshold; -1: too small to split."""
        smallest = self.options.min_cluster_windows
        if node < self.n or len(members) < 2 * smallest:
            return -1.0
        x = self.vectors[members]
        left = self._members(int(self.tree[node - self.n, 0]))
        halves = refine(x, np.isin(members, left).astype(int), 2, 5)
        if np.bincount(halves, minlength=2).min() < smallest:
            return -1.0
        whole = fit(x, np.zeros(len(x), dtype=int), 1)
        gain = (fit(x, halves, 2) - whole) / max(1 - whole, 1e-9)
        needed = self.options.split.threshold(len(x), self.strictness)
        if node == 2 * self.n - 2:  # the first split: more than one voice?
            needed *= self.first_margin
        return gain / needed


def _first_split_margin(windows: int, options: ClusterOptions) -> float:
    """``first_split_margin`` at ``min_windows_to_split`` windows, falling
    linearly to 1 at ``first_split_margin_until``."""
    low, high = options.min_windows_to_split, options.first_split_margin_until
    if windows >= high or high <= low:
        return 1.0
    share = (high - max(windows, low)) / (high - low)
    return 1.0 + (options.first_split_margin - 1.0) * share
