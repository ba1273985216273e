// Shared by the shared-memory tiled f32 GEMMs (conv2d.fwd_gemm.comp, linear.gemm_tiled.comp): a workgroup's BM x BN tile
// of C = A B, each of its (BM / TM) x (BN / TN) invocations a TM x TN block of it, rows BM / TM apart and columns BN / TN
// apart (tx along the columns fastest). Each step stages BK of the reduction of both operands into shared memory, A as
// [BK][BM] and B as [BK][BN], rows padded by one so that stores along k spread over the banks; a step's slices are
// loaded into registers one step ahead and stored into the other of two buffers after the step's products (one barrier
// a step). Before including, declare the constants BM, BN, TM, TN (at most T_MAX), BK, and A_K_INNER, B_K_INNER (bool:
// whether consecutive elements of the operand's slice run along k, its contiguous dimension in memory, or along its
// rows or columns); after, define tiled_load (declared here), which fills element q of aStaged and bStaged with the
// operand's value at tiled_slot(tid + q THREADS, BM or BN, A_K_INNER or B_K_INNER), zero outside the operand.
#ifndef KILN_TILED_GEMM_GLSL
#define KILN_TILED_GEMM_GLSL
#define T_MAX 8

const int RX = BN / TN, RY = BM / TM;      // invocations along the columns and along the rows
const int THREADS = RX * RY;
const int LDA = BM + 1, LDB = BN + 1;
const int A_PER = (BM * BK + THREADS - 1) / THREADS;
const int B_PER = (BN * BK + THREADS - 1) / THREADS;

shared float As[2 * BK * LDA];
shared float Bs[2 * BK * LDB];
float aStaged[A_PER], bStaged[B_PER];

// Element e of a step's slice of an operand `width` rows (A) or columns (B) wide: its reduction index kk (x) and its row
// or column (y), consecutive e along k where kInner, else along the rows or columns.
ivec2 tiled_slot(int e, int width, bool kInner) { return kInner ? ivec2(e % BK, e / BK) : ivec2(e / width, e % width); }

// The includer's: the slices of the step from k0 into aStaged and bStaged.
void tiled_load(int k0, int tid);

void tiled_store(int buf, int tid)
{
    [[unroll]] for (int q = 0; q < A_PER; q++)
    {
        const int e = tid + q * THREADS;
        const ivec2 s = tiled_slot(e, BM, A_K_INNER);
        if (e < BM * BK) As[(buf * BK + s.x) * LDA + s.y] = aStaged[q];
    }
    [[unroll]] for (int q = 0; q < B_PER; q++)
    {
        const int e = tid + q * THREADS;
        const ivec2 s = tiled_slot(e, BN, B_K_INNER);
        if (e < BN * BK) Bs[(buf * BK + s.x) * LDB + s.y] = bStaged[q];
    }
}

// acc += the products of `steps` steps of BK from k0, invocation tid of the workgroup.
void tiled_gemm(int k0, int steps, int tid, inout float acc[T_MAX][T_MAX])
{
    const int tx = tid % RX, ty = tid / RX;
    tiled_load(k0, tid);
    tiled_store(0, tid);
    barrier();
    [[dont_unroll]] for (int s = 0; s < steps; s++)
    {
        const int cur = s & 1;
        // The next slices are loaded while this step's are multiplied, and stored into the other buffers after them; the
        // barrier at the end of the step orders both (the other buffers were last read in the previous step).
        if (s + 1 < steps) tiled_load(k0 + (s + 1) * BK, tid);
        [[unroll]] for (int kk = 0; kk < BK; kk++)
        {
            float a[T_MAX], b[T_MAX];
            [[unroll]] for (int i = 0; i < TM; i++) a[i] = As[(cur * BK + kk) * LDA + ty + i * RY];
            [[unroll]] for (int j = 0; j < TN; j++) b[j] = Bs[(cur * BK + kk) * LDB + tx + j * RX];
            [[unroll]] for (int i = 0; i < TM; i++)
                [[unroll]] for (int j = 0; j < TN; j++) acc[i][j] += a[i] * b[j];
        }
        if (s + 1 < steps) tiled_store(cur ^ 1, tid);
        barrier();
    }
}
#endif
