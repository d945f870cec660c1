"""The Max-of-K transformer in PyTorch, with TransformerLens semantics and names.

One layer, attention only, no LayerNorm, learned positional embedding, causal
attention, logits read at the last position; biases are zero and frozen
(``../shared/spec/max_of_k.md``). The parameter names of ``state_dict()`` are
exactly TransformerLens's, so ``extract`` reads these models and TransformerLens
checkpoints alike. Used for training and as the float reference in tests;
nothing in a certificate depends on it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

__all__ = ["MaxOfKConfig", "MaxOfK", "train_max_of_k", "accuracy_all_inputs", "forward_numpy"]


@dataclass
class MaxOfKConfig:
    d_vocab: int = 64
    n_ctx: int = 4
    d_model: int = 32
    d_head: int = 32
    n_heads: int = 1


class _Embed(nn.Module):
    def __init__(self, v, d):
        super().__init__()
        self.W_E = nn.Parameter(torch.empty(v, d))


class _PosEmbed(nn.Module):
    def __init__(self, n, d):
        super().__init__()
        self.W_pos = nn.Parameter(torch.empty(n, d))


class _Attn(nn.Module):
    def __init__(self, cfg: MaxOfKConfig):
        super().__init__()
        H, d, h = cfg.n_heads, cfg.d_model, cfg.d_head
        self.W_Q = nn.Parameter(torch.empty(H, d, h))
        self.W_K = nn.Parameter(torch.empty(H, d, h))
        self.W_V = nn.Parameter(torch.empty(H, d, h))
        self.W_O = nn.Parameter(torch.empty(H, h, d))
        # Zero and frozen, as in the published models.
        self.b_Q = nn.Parameter(torch.zeros(H, h), requires_grad=False)
        self.b_K = nn.Parameter(torch.zeros(H, h), requires_grad=False)
        self.b_V = nn.Parameter(torch.zeros(H, h), requires_grad=False)
        self.b_O = nn.Parameter(torch.zeros(d), requires_grad=False)


class _Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.attn = _Attn(cfg)


class _Unembed(nn.Module):
    def __init__(self, d, v):
        super().__init__()
        self.W_U = nn.Parameter(torch.empty(d, v))
        self.b_U = nn.Parameter(torch.zeros(v), requires_grad=False)


class MaxOfK(nn.Module):
    def __init__(self, cfg: MaxOfKConfig):
        super().__init__()
        self.cfg = cfg
        self.embed = _Embed(cfg.d_vocab, cfg.d_model)
        self.pos_embed = _PosEmbed(cfg.n_ctx, cfg.d_model)
        self.blocks = nn.ModuleList([_Block(cfg)])
        self.unembed = _Unembed(cfg.d_model, cfg.d_vocab)
        std = 0.8 / math.sqrt(cfg.d_model)  # TransformerLens's default initializer_range
        for p in (self.embed.W_E, self.pos_embed.W_pos, self.blocks[0].attn.W_Q, self.blocks[0].attn.W_K,
                  self.blocks[0].attn.W_V, self.blocks[0].attn.W_O, self.unembed.W_U):
            nn.init.normal_(p, std=std)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Logits at every position, shape (batch, n_ctx, d_vocab)."""
        a = self.blocks[0].attn
        n = tokens.shape[-1]
        resid = self.embed.W_E[tokens] + self.pos_embed.W_pos[:n]
        q = torch.einsum("bpd,hdk->bphk", resid, a.W_Q) + a.b_Q
        k = torch.einsum("bpd,hdk->bphk", resid, a.W_K) + a.b_K
        v = torch.einsum("bpd,hdk->bphk", resid, a.W_V) + a.b_V
        scores = torch.einsum("bqhk,bphk->bhqp", q, k) / math.sqrt(self.cfg.d_head)
        mask = torch.triu(torch.ones(n, n, dtype=torch.bool, device=tokens.device), diagonal=1)
        scores = scores.masked_fill(mask, float("-inf"))
        pattern = scores.softmax(dim=-1)
        z = torch.einsum("bhqp,bphk->bqhk", pattern, v)
        out = torch.einsum("bqhk,hkd->bqd", z, a.W_O) + a.b_O
        return (resid + out) @ self.unembed.W_U + self.unembed.b_U


def train_max_of_k(cfg: MaxOfKConfig, seed: int = 123, steps: int = 3000, batch: int = 128,
                   lr: float = 1e-3, progress=None) -> MaxOfK:
    """The published recipe: AdamW(lr 1e-3, betas (0.9, 0.999), default weight decay),
    batch 128, uniform random sequences, label = max, cross-entropy at the last position."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = MaxOfK(cfg)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr, betas=(0.9, 0.999))
    for step in range(steps):
        x = torch.randint(0, cfg.d_vocab, (batch, cfg.n_ctx), generator=gen)
        logits = model(x)[:, -1, :]
        loss = nn.functional.cross_entropy(logits, x.max(dim=-1).values)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if progress is not None:
            progress(step + 1, steps, float(loss.detach()))
    return model


def all_inputs(d_vocab: int, n_ctx: int, start: int = 0, stop: int | None = None) -> torch.Tensor:
    """Inputs number start..stop-1 of all d_vocab^n_ctx sequences, in lexicographic order."""
    total = d_vocab ** n_ctx
    stop = total if stop is None else stop
    idx = torch.arange(start, stop, dtype=torch.int64)
    cols = []
    for _ in range(n_ctx):
        cols.append(idx % d_vocab)
        idx = idx // d_vocab
    return torch.stack(cols[::-1], dim=1)


@torch.no_grad()
def accuracy_all_inputs(model: nn.Module, d_vocab: int, n_ctx: int, dtype=torch.float64,
                        chunk: int = 1 << 16) -> tuple[int, int]:
    """(#correct, #inputs) over every input, in the given float dtype (not rigorous).
    Correct means logit[max] strictly above every other logit."""
    m = model.to(dtype)
    correct = 0
    total = d_vocab ** n_ctx
    for s in range(0, total, chunk):
        x = all_inputs(d_vocab, n_ctx, s, min(total, s + chunk))
        logits = m(x)[:, -1, :]
        mx = x.max(dim=-1).values
        lm = logits.gather(1, mx[:, None])
        others = logits.scatter(1, mx[:, None], float("-inf"))
        correct += int((lm[:, 0] > others.max(dim=-1).values).sum())
    return correct, total


def forward_numpy(weights, tokens) -> "torch.Tensor":
    """Float64 last-position logits of exact weights (for tests)."""
    cfg = weights.config
    model = MaxOfK(MaxOfKConfig(cfg["d_vocab"], cfg["n_ctx"], cfg["d_model"], cfg["d_head"], cfg["n_heads"]))
    model = model.to(torch.float64)
    sd = {t.name: torch.from_numpy(t.as_float64()) for t in weights.tensors}
    model.load_state_dict(sd, strict=False)
    with torch.no_grad():
        return model(torch.as_tensor(tokens))[:, -1, :]
