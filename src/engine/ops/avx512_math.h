// Small pieces for AVX-512 float loops, shared by the kernel files: the mask of a loop's last
// (partial) 16 lanes, and a vector exp (SwiGLU, attention). Included only by translation units
// built with AVX-512.
#ifndef PLINTH_ENGINE_OPS_AVX512_MATH_H_
#define PLINTH_ENGINE_OPS_AVX512_MATH_H_

#include <immintrin.h>

#include <cstddef>

namespace plinth::engine::kernels {

// The lanes of the next 16 values that exist when `left` remain.
inline __mmask16 tail_mask(size_t left) {
  return left >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << left) - 1u);
}

// exp(x) for x in [-88, 88] (clamped): Cephes' expf polynomial after a two-part ln 2 reduction,
// within 2 ulp.
inline __m512 exp_ps(__m512 x) {
  x = _mm512_max_ps(_mm512_min_ps(x, _mm512_set1_ps(88.0f)), _mm512_set1_ps(-88.0f));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  return _mm512_scalef_ps(p, n);
}

}  // namespace plinth::engine::kernels

#endif  // PLINTH_ENGINE_OPS_AVX512_MATH_H_
