using System.Diagnostics.CodeAnalysis;
using NUnit.Framework;

namespace Kiln.Tests;

/// <summary>
/// Outside programs and data some tests need (chromium, ffmpeg, Xvfb, Python with PyTorch, Debian's Fashion-MNIST).
/// `./run.sh test` (and so CI) installs them through tools/ensure-deps.sh. Where one is missing the test fails, naming
/// it: no test is skipped quietly. Those tests carry the category <see cref="Category"/>, so that a run on a machine
/// without them (the Mesa 26 chroot of tools/coopmat-lavapipe.sh) leaves them out by saying so:
/// <c>--filter "Category!=ExternalTools"</c>.
/// </summary>
public static class TestTools
{
    public const string Category = "ExternalTools";

    /// <summary>Fails the test, naming what is missing and how to get it, when <paramref name="present"/> is false.</summary>
    public static void Require([DoesNotReturnIf(false)] bool present, string missing)
    {
        if (!present)
            Assert.Fail($"{missing}: ./run.sh deps (tools/ensure-deps.sh) installs it; a run without it leaves these tests out with --filter \"Category!={Category}\".");
    }
}
