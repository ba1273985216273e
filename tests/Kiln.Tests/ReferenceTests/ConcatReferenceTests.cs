using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.ReferenceTests;

/// <summary><see cref="RefConcat"/> is torch.cat along channels, for any number of inputs.</summary>
public sealed class ConcatReferenceTests
{
    static string[] InputNames(Fixture f) =>
        Enumerable.Range(0, 16).Select(i => $"x{i}").TakeWhile(f.Has).ToArray();

    static (int N, int[] Channels, int H, int W) Dims(Fixture f)
    {
        var shapes = InputNames(f).Select(k => f[k].Shape).ToArray();
        return (shapes[0][0], shapes.Select(s => s[1]).ToArray(), shapes[0][2], shapes[0][3]);
    }

    [TestCaseSource(typeof(Fixture), nameof(Fixture.All), new object[] { "concat" })]
    public void ForwardMatchesPyTorch(Fixture f)
    {
        var (n, channels, h, w) = Dims(f);
        var xs = InputNames(f).Select(k => f[k].Data).ToArray();
        ReferenceAssert.MatchesFixture(RefConcat.Forward(xs, n, channels, h, w), f, "y");
    }

    [TestCaseSource(typeof(Fixture), nameof(Fixture.All), new object[] { "concat" })]
    public void BackwardMatchesPyTorch(Fixture f)
    {
        var (n, channels, h, w) = Dims(f);
        var grads = RefConcat.Backward(f["grad_y"].Data, n, channels, h, w);
        var names = InputNames(f);
        Assert.That(grads, Has.Length.EqualTo(names.Length));
        for (int k = 0; k < names.Length; k++) ReferenceAssert.MatchesFixture(grads[k], f, "grad_" + names[k]);
    }

    [TestCase(2, new[] { 2, 3 }, 3, 3)]
    [TestCase(1, new[] { 1, 2, 1 }, 2, 3)]
    [TestCase(3, new[] { 4 }, 1, 2)]
    public void BackwardMatchesFiniteDifferences(int n, int[] channels, int h, int w)
    {
        var xs = channels.Select((c, k) => RandomData.Uniform(n * c * h * w, k + 1)).ToArray();
        for (int k = 0; k < xs.Length; k++)
        {
            int input = k;
            ReferenceAssert.MatchesFiniteDifferences($"x{k}",
                v => RefConcat.Forward(xs.Select((x, j) => j == input ? v : x).ToArray(), n, channels, h, w), xs[k],
                g => RefConcat.Backward(g, n, channels, h, w)[input]);
        }
    }
}
