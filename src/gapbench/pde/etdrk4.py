"""An independent reference integrator for Kuramoto-Sivashinsky: ETDRK4 (Kassam & Trefethen 2005, contour-integral
coefficients) in numpy, written apart from the Dedalus solver so that differences measure Dedalus' time stepping
and the equation as Dedalus parses it. Used by the solver tests (``tests/test_pde_ks.py``) and the generation
benchmark (``benchmarks/ks_generation.py``); not by the pipeline.
"""

from __future__ import annotations

import numpy as np


def etdrk4_ks(u0, nu, length, t_end, n_frames, h, dealias=True, contour=64):
    """KS ``u_t = -u_xx - nu u_xxxx - (u^2/2)_x`` on ``[0, length)`` by ETDRK4 in Fourier space, step ``h``;
    ``u0 (batch, N)`` -> frames ``(batch, n_frames, N)`` at ``t = j t_end / (n_frames - 1)``.

    ``dealias=True``: gapbench's discretisation (3/2-rule product, Nyquist mode dropped); ``False``: the plain
    pseudo-spectral product of the generator MemNO's data came from."""
    u0 = np.atleast_2d(u0)
    batch, n = u0.shape
    k = 2 * np.pi / length * np.arange(n // 2 + 1)
    lin = k**2 - nu * k**4
    e, e2 = np.exp(h * lin), np.exp(h * lin / 2)
    r = np.exp(1j * np.pi * (np.arange(1, contour + 1) - 0.5) / contour)
    lr = h * lin[:, None] + r[None, :]
    q = h * np.real(np.mean((np.exp(lr / 2) - 1) / lr, axis=1))
    f1 = h * np.real(np.mean((-4 - lr + np.exp(lr) * (4 - 3 * lr + lr**2)) / lr**3, axis=1))
    f2 = h * np.real(np.mean((2 + lr + np.exp(lr) * (-2 + lr)) / lr**3, axis=1))
    f3 = h * np.real(np.mean((-4 - 3 * lr - lr**2 + np.exp(lr) * (4 - lr)) / lr**3, axis=1))
    m = 3 * n // 2

    def nonlinear(v):
        if not dealias:
            return -0.5j * k * np.fft.rfft(np.fft.irfft(v, n=n) ** 2)
        padded = np.zeros((batch, m // 2 + 1), complex)
        padded[:, : n // 2] = v[:, : n // 2]
        u = np.fft.irfft(padded, n=m) * (m / n)
        w = np.fft.rfft(u * u)[:, : n // 2 + 1] * (n / m)
        w[:, n // 2] = 0
        return -0.5j * k * w

    v = np.fft.rfft(u0)
    if dealias:
        v[:, n // 2] = 0
    per = int(round(t_end / (n_frames - 1) / h))
    out = np.empty((batch, n_frames, n))
    out[:, 0] = np.fft.irfft(v, n=n)
    for frame in range(1, n_frames):
        for _ in range(per):
            nv = nonlinear(v)
            a = e2 * v + q * nv
            na = nonlinear(a)
            b = e2 * v + q * na
            nb = nonlinear(b)
            c = e2 * a + q * (2 * nb - nv)
            nc = nonlinear(c)
            v = e * v + nv * f1 + 2 * (na + nb) * f2 + nc * f3
        out[:, frame] = np.fft.irfft(v, n=n)
    return out
