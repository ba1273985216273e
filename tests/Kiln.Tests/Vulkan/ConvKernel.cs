using Kiln.Vulkan;

namespace Kiln.Tests.Vulkan;

/// <summary>One convolution's geometry, as shaders/conv2d/conv2d.fwd.comp sees it.</summary>
public sealed record ConvCase(int N, int Cin, int H, int W, int Cout, int KH, int KW,
    int SH = 1, int SW = 1, int PH = 0, int PW = 0, int DH = 1, int DW = 1, int Groups = 1, bool HasBias = false, int Act = 0, float Slope = 0.01f)
{
    public int OH => (H + 2 * PH - DH * (KH - 1) - 1) / SH + 1;
    public int OW => (W + 2 * PW - DW * (KW - 1) - 1) / SW + 1;
    public Shape XShape => new(N, Cin, H, W);
    public Shape WShape => new(Cout, Cin / Groups, KH, KW);
    public Shape YShape => new(N, Cout, OH, OW);
}

/// <summary>
/// Dispatches conv2d/conv2d.fwd straight through the internal recorder, exactly as its header comment says
/// (specialization constants 0..19, seven int push constants, one flat invocation per block, local x only).
/// </summary>
internal static class ConvKernel
{
    const int CoBlock = 8; // the CO_BLOCK constant these tests pick
    const int PxBlock = 4; // the PX_BLOCK constant these tests pick (the engine picks per width)

    /// <summary>The course's example: a 5x5 image, a 3x3 kernel, no padding, stride 1.</summary>
    public static readonly ConvCase Golden = new(1, 1, 5, 5, 1, 3, 3);

    public static readonly float[] GoldenX =
    {
        3, 3, 2, 1, 0,
        0, 0, 1, 3, 1,
        3, 1, 2, 2, 3,
        2, 0, 0, 2, 2,
        2, 0, 0, 0, 1,
    };

    public static readonly float[] GoldenW =
    {
        0, 1, 2,
        2, 2, 0,
        0, 1, 2,
    };

    public static readonly float[] GoldenY =
    {
        12, 12, 17,
        10, 17, 19,
        9, 6, 14,
    };

    /// <param name="bakeShapes">True: sizes in specialization constants 12..17; false: those are 0 and the shader reads the push constants.</param>
    public static KernelSpec Spec(ConvCase c, bool bakeShapes, uint local)
    {
        var constants = new uint[]
        {
            (uint)c.KH, (uint)c.KW, (uint)c.SH, (uint)c.SW, (uint)c.PH, (uint)c.PW, (uint)c.DH, (uint)c.DW,
            (uint)c.Groups, c.HasBias ? 1u : 0u, (uint)c.Act, KernelSpec.Word(c.Slope),
            0, 0, 0, 0, 0, 0, PxBlock, CoBlock,
        };
        if (bakeShapes)
        {
            constants[12] = (uint)c.Cin; constants[13] = (uint)c.Cout; constants[14] = (uint)c.H;
            constants[15] = (uint)c.W; constants[16] = (uint)c.OH; constants[17] = (uint)c.OW;
        }
        return new KernelSpec("conv2d/conv2d.fwd", KernelSpec.Buffers(4), 28, constants, local);
    }

    public static byte[] Push(ConvCase c)
    {
        var ints = new[] { c.N, c.Cin, c.Cout, c.H, c.W, c.OH, c.OW };
        var bytes = new byte[ints.Length * 4];
        for (int i = 0; i < ints.Length; i++) BitConverter.TryWriteBytes(bytes.AsSpan(i * 4), ints[i]);
        return bytes;
    }

    public static (uint X, uint Y, uint Z) Groups(ConvCase c, uint local)
    {
        long invocations = (long)c.N * ((c.Cout + CoBlock - 1) / CoBlock) * c.OH * ((c.OW + PxBlock - 1) / PxBlock);
        return ((uint)((invocations + local - 1) / local), 1, 1);
    }

    /// <summary>Records y = conv(x, w) + bias into <paramref name="recorder"/>.</summary>
    public static void Record(CommandRecorder recorder, ConvCase c, Tensor x, Tensor w, Tensor bias, Tensor y,
        bool bakeShapes = true, uint local = 64)
    {
        var (gx, gy, gz) = Groups(c, local);
        var bindings = new[] { Binding.Of(x.Storage), Binding.Of(w.Storage), Binding.Of(bias.Storage), Binding.Of(y.Storage) };
        recorder.Dispatch(Spec(c, bakeShapes, local), bindings, Push(c), gx, gy, gz, "test conv");
    }

    /// <summary>Straightforward NCHW convolution in double precision: the reference the kernel must match.</summary>
    public static float[] Naive(ConvCase c, float[] x, float[] w, float[]? bias)
    {
        int cinG = c.Cin / c.Groups, coutG = c.Cout / c.Groups;
        var y = new float[c.N * c.Cout * c.OH * c.OW];
        for (int n = 0; n < c.N; n++)
        for (int co = 0; co < c.Cout; co++)
        {
            int g = co / coutG;
            for (int oy = 0; oy < c.OH; oy++)
            for (int ox = 0; ox < c.OW; ox++)
            {
                double acc = bias != null && c.HasBias ? bias[co] : 0;
                for (int ci = 0; ci < cinG; ci++)
                for (int ky = 0; ky < c.KH; ky++)
                for (int kx = 0; kx < c.KW; kx++)
                {
                    int iy = oy * c.SH - c.PH + ky * c.DH, ix = ox * c.SW - c.PW + kx * c.DW;
                    if (iy < 0 || iy >= c.H || ix < 0 || ix >= c.W) continue;
                    acc += (double)x[((n * c.Cin + g * cinG + ci) * c.H + iy) * c.W + ix] * w[((co * cinG + ci) * c.KH + ky) * c.KW + kx];
                }
                y[((n * c.Cout + co) * c.OH + oy) * c.OW + ox] = (float)Activate(acc, c.Act, c.Slope);
            }
        }
        return y;
    }

    static double Activate(double v, int act, float slope) => act switch
    {
        1 => Math.Max(v, 0),
        2 => v >= 0 ? v : v * slope,
        3 => 1 / (1 + Math.Exp(-v)),
        4 => Math.Tanh(v),
        _ => v,
    };

    /// <summary>max |a - e| / max |e|.</summary>
    public static double RelativeError(float[] actual, float[] expected)
    {
        double maxDiff = 0, maxRef = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            maxDiff = Math.Max(maxDiff, Math.Abs((double)actual[i] - expected[i]));
            maxRef = Math.Max(maxRef, Math.Abs((double)expected[i]));
        }
        return maxRef == 0 ? maxDiff : maxDiff / maxRef;
    }

    public static float[] Random(Random r, int count) => Enumerable.Range(0, count).Select(_ => (float)(r.NextDouble() * 2 - 1)).ToArray();
}
