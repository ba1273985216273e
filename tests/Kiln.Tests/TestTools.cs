using System.Diagnostics.CodeAnalysis;
using NUnit.Framework;

namespace Kiln.Tests;

/// <summary>
/// Outside programs and data some tests need (chromium, ffmpeg, Xvfb, Debian's Fashion-MNIST). `./run.sh test`
/// (and so CI) installs them through tools/ensure-deps.sh and sets KILN_TEST_TOOLS_REQUIRED=1: there a missing one
/// fails the test. A bare `dotnet test` on a machine without them ignores those tests, saying what is missing.
/// </summary>
public static class TestTools
{
    public static bool Required => Environment.GetEnvironmentVariable("KILN_TEST_TOOLS_REQUIRED") == "1";

    /// <summary>Stops the test when <paramref name="present"/> is false: a failure where the tools are required, else Ignore.</summary>
    public static void Require([DoesNotReturnIf(false)] bool present, string missing)
    {
        if (present) return;
        if (Required) Assert.Fail($"{missing}, and KILN_TEST_TOOLS_REQUIRED=1 (./run.sh test installs it through tools/ensure-deps.sh).");
        Assert.Ignore(missing);
    }
}
