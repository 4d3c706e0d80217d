"""Template protection: a secret per-deployment orthogonal rotation (renewable, unlinkable).

A stored template is R @ t with R a random 192x192 orthogonal matrix. Cosine similarity
is unchanged (R^T R = I), so search is exact, yet templates of two deployments with
different R cannot be compared, and re-keying (R' R^T t) renews every stored template
without the selfies (ISO/IEC 24745 renewability and unlinkability).

R lives in the encrypted database's meta table, wrapped once more with AES-256-GCM under a
key derived from the database key, bound to its generation.
"""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from storage.database import Connection
from storage.errors import DatabaseCorruptError
from storage.keys import derive_key

log = logging.getLogger(__name__)

META_MATRIX = "template_rotation"
META_GENERATION = "template_key_generation"
DIM = 192

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]


def random_orthogonal(dim: int, seed: bytes) -> F64:
    """Haar-random orthogonal matrix from the QR of a Gaussian matrix seeded by `seed`.

    Multiplying the columns of Q by sign(diag(R)) makes the distribution uniform over O(n)
    instead of biased by the QR convention.
    """
    rng = np.random.Generator(np.random.PCG64(int.from_bytes(seed, "big")))
    gauss = rng.standard_normal((dim, dim))
    q, r = np.linalg.qr(gauss)
    q = q * np.sign(np.diag(r))
    return np.ascontiguousarray(q, dtype=np.float64)


def _aad(generation: int, dim: int) -> bytes:
    return f"poh-template-rotation|v1|gen={generation}|dim={dim}".encode()


@dataclass(frozen=True)
class TemplateProtector:
    """Applies the rotation of one key generation to raw embeddings."""

    matrix: F64
    generation: int

    @property
    def dim(self) -> int:
        return int(self.matrix.shape[0])

    def protect(self, embeddings: npt.NDArray[np.floating]) -> F32:
        """Rotate (n, dim) or (dim,) L2-normalised embeddings; renormalise float error away."""
        x = np.asarray(embeddings, dtype=np.float64)
        if x.shape[-1] != self.dim:
            raise ValueError(f"embedding has {x.shape[-1]} dimensions, expected {self.dim}")
        if not np.all(np.isfinite(x)):
            raise ValueError("embedding holds NaN or infinity")
        y = x @ self.matrix.T
        norms = np.linalg.norm(y, axis=-1, keepdims=True)
        if np.any(norms == 0):
            raise ValueError("embedding is all zeros")
        return (y / norms).astype(np.float32)

    def rekey_matrix(self, new: TemplateProtector) -> F64:
        """M = R' R^T maps a template of this generation to the new one."""
        return new.matrix @ self.matrix.T


def new_protector(generation: int, dim: int = DIM) -> TemplateProtector:
    return TemplateProtector(random_orthogonal(dim, secrets.token_bytes(32)), generation)


def save_protector(conn: Connection, db_key: bytes, prot: TemplateProtector) -> None:
    """Write R (wrapped) and its generation; the caller owns the transaction."""
    nonce = os.urandom(12)
    wrapped = nonce + AESGCM(derive_key(db_key, "template-rotation")).encrypt(
        nonce, prot.matrix.astype("<f8").tobytes(), _aad(prot.generation, prot.dim)
    )
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET "
        "value = excluded.value, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
        (META_MATRIX, wrapped),
    )
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET "
        "value = excluded.value, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
        (META_GENERATION, str(prot.generation)),
    )


def load_protector(conn: Connection, db_key: bytes) -> TemplateProtector | None:
    """The current rotation, or None in a database that has none yet."""
    rows = dict(conn.execute(
        "SELECT key, value FROM meta WHERE key IN (?, ?)", (META_MATRIX, META_GENERATION)
    ).fetchall())
    if not rows:
        return None
    if META_MATRIX not in rows or META_GENERATION not in rows:
        raise DatabaseCorruptError("the template rotation key is incomplete in the database")
    generation = int(rows[META_GENERATION])
    blob = bytes(rows[META_MATRIX])
    dim = int(round(((len(blob) - 12 - 16) / 8) ** 0.5))
    try:
        raw = AESGCM(derive_key(db_key, "template-rotation")).decrypt(
            blob[:12], blob[12:], _aad(generation, dim)
        )
    except InvalidTag:
        raise DatabaseCorruptError("the template rotation key fails authentication") from None
    matrix = np.frombuffer(raw, dtype="<f8").reshape(dim, dim).astype(np.float64)
    return TemplateProtector(matrix, generation)


def stored_generation(conn: Connection) -> int:
    """The key generation committed in the database (0 before the first template key)."""
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (META_GENERATION,)).fetchone()
    return int(row[0]) if row else 0
