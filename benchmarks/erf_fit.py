"""The rational approximation of erf in Sources/Tensors/Kernels/VectorMath.swift.

erf(x) ~ x * P(x^2) / Q(x^2) on [0, 4], P of degree 6 and Q of degree 4 (Q(0) = 1), fitted by
iteratively reweighted least squares on the relative error (Sanathanan-Koerner), then checked in
Float32 arithmetic, as the kernel evaluates it, against scipy's erf in Float64 on [-5, 5].
Prints the errors and the coefficients (lowest degree first).

usage: python3 benchmarks/erf_fit.py   (NumPy and SciPy)
"""
import numpy as np
from scipy.special import erf
# erf(x) ~ x * P(u) / Q(u), u = x^2, on x in [0, 4]; fit f(x) = erf(x)/x with relative weighting
x = np.concatenate([np.linspace(1e-6, 4, 20000)])
u = x*x
f = erf(x)/x
npd, nqd = 6, 4
w = np.ones_like(x)
for it in range(30):
    # unknowns p0..p6, q1..q4 (q0 = 1): f*Q - P = 0 -> f*(1 + sum q_k u^k) - sum p_k u^k
    A = np.hstack([-np.vstack([u**k for k in range(npd+1)]).T, (f[:,None]*np.vstack([u**k for k in range(1,nqd+1)]).T)])
    b = -f
    W = w[:,None]
    sol, *_ = np.linalg.lstsq(A*W, b*w, rcond=None)
    p = sol[:npd+1]; q = np.concatenate([[1], sol[npd+1:]])
    Q = np.polyval(q[::-1], u)
    w = 1/np.abs(Q) / f  # SK reweighting, relative
    approx = x*np.polyval(p[::-1], u)/Q
    err = np.max(np.abs(approx - erf(x))/erf(x))
print("rel err float64", err)
xs = np.linspace(-5, 5, 2000001).astype(np.float32)
xc = np.clip(xs, -4, 4); uu = (xc*xc).astype(np.float32)
P = np.float32(0); 
for c in p[::-1].astype(np.float32): P = (P*uu + c).astype(np.float32)
Qv = np.float32(0)
for c in q[::-1].astype(np.float32): Qv = (Qv*uu + c).astype(np.float32)
y = (xc*P/Qv).astype(np.float32)
ref = erf(xs.astype(np.float64))
print("abs err float32", np.max(np.abs(y-ref)), "rel", np.max(np.abs(y-ref)/np.maximum(np.abs(ref),1e-30)))
print("ref float32 erff err", np.max(np.abs(ref.astype(np.float32)-ref)))
print("p", [float(np.float32(c)) for c in p]); print("q", [float(np.float32(c)) for c in q])
