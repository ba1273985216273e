using Kiln.Graph;
using Kiln.Vulkan;
using NUnit.Framework;

namespace Kiln.Tests.Diagnostics;

/// <summary>The roofline kernels compute what they claim (so the limits they time are real work), and Measure reports sane figures.</summary>
public sealed class DeviceRooflineTests : GpuTest
{
    [Test]
    public void CopyKernelCopiesEveryElementWithFewerInvocationsThanElements()
    {
        var data = Enumerable.Range(0, 4 * 1000).Select(i => (float)Math.Sin(i)).ToArray();
        using var src = Tensor.From(Context, new Shape(data.Length), data, "src");
        using var dst = new Tensor(Context, new Shape(data.Length), name: "dst");
        using (var list = Context.CreateCommandList())
        {
            var spec = new KernelSpec("roofline/roofline.copy", KernelSpec.Buffers(2), 4, Array.Empty<uint>(), 256);
            // 2 x 256 invocations for 1000 vec4 elements: the grid-stride loop must cover the rest.
            list.Recorder.Dispatch(spec, new[] { Binding.Of(src.Storage), Binding.Of(dst.Storage) }, PushConstants.Words(1000), 2);
            list.Run();
        }
        Assert.That(dst.ToArray(), Is.EqualTo(data));
    }

    /// <summary>
    /// Each invocation's eight chains, simulated in f32 (fused and unfused: GLSL's fma may be either): the GPU sum
    /// matches one of them, and the iterations moved it far more than the tolerance (the loop was not skipped).
    /// </summary>
    [Test]
    public void FmaKernelRunsItsChains()
    {
        const int n = 256;
        const uint iterations = 30000;
        const double tolerance = 1e-4; // relative; f32 rounding of 30000 dependent steps
        using var y = new Tensor(Context, new Shape(n), name: "y");
        using (var list = Context.CreateCommandList())
        {
            var spec = new KernelSpec("roofline/roofline.fma", KernelSpec.Buffers(1), 8, Array.Empty<uint>(), 256);
            list.Recorder.Dispatch(spec, new[] { Binding.Of(y.Storage) }, PushConstants.Words(iterations, KernelSpec.Word(1f)), 1);
            list.Run();
        }
        var got = y.ToArray();
        for (int i = 0; i < n; i += 17)
        {
            float x = 1f * (i & 255) * 1e-3f;
            double Sum(bool fused)
            {
                double sum = 0;
                for (int chain = 0; chain < 8; chain++)
                {
                    float a = x + chain;
                    for (int k = 0; k < iterations; k++) a = fused ? MathF.FusedMultiplyAdd(a, 0.999999f, 1e-6f) : a * 0.999999f + 1e-6f;
                    sum += a;
                }
                return sum;
            }
            double start = 8 * x + 28, fused = Sum(true), unfused = Sum(false);
            double error = Math.Min(Math.Abs(got[i] - fused), Math.Abs(got[i] - unfused)) / Math.Abs(fused);
            Assert.That(error, Is.LessThan(tolerance), $"invocation {i}: {got[i]} vs {fused} (fused) or {unfused}");
            Assert.That(Math.Abs(fused - start) / Math.Abs(fused), Is.GreaterThan(100 * tolerance), "the chains moved");
        }
    }

    [Test]
    public void MeasureReportsPositiveFiguresFromItsOwnSizes()
    {
        var r = DeviceRoofline.Measure(Context, repeats: 2);
        Assert.That(r.CopyBytes % 16, Is.Zero);
        Assert.That((ulong)r.CopyBytes, Is.LessThanOrEqualTo(Context.Info.MaxStorageBufferRange));
        Assert.That(r.CopyGBps, Is.EqualTo(2.0 * r.CopyBytes / (r.CopyMs * 1e-3) / 1e9).Within(1e-9).Percent);
        Assert.That(r.Fp32Tflops, Is.EqualTo(r.FmaFlops / (r.FmaMs * 1e-3) / 1e12).Within(1e-9).Percent);
        Assert.That(new[] { r.CopyGBps, r.Fp32Tflops, r.CopyMs, r.FmaMs }, Has.All.GreaterThan(0).And.All.Matches<double>(double.IsFinite));
        Assert.Throws<ArgumentOutOfRangeException>(() => DeviceRoofline.Measure(Context, repeats: 0));
    }
}
