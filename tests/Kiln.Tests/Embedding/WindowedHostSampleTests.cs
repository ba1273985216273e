using Kiln.HostSample;
using Kiln.IO;
using Kiln.Models;
using NUnit.Framework;

namespace Kiln.Tests.Embedding;

/// <summary>
/// demos/Kiln.HostSample in a window under a private Xvfb, in-process, with the validation layer (synchronization
/// validation on) on its own instance: four frames presented through a swapchain, a resize of the window at the
/// third (the swapchain recreated, Kiln's pass and the render images rebuilt at the new size), and a screenshot of
/// the window from the X server after the last present. The screenshot must be plausible (a lit scene on the
/// left, a different, structured denoised picture on the right) and equal, to one 8-bit step, the headless
/// sample's PNG of the same frame at the same size, whose denoised half <see cref="HostSampleTests"/> checks
/// against the CPU reference network. Needs Xvfb (<see cref="TestTools.Require"/>; tools/ensure-deps.sh installs it).
/// </summary>
public sealed class WindowedHostSampleTests
{
    const int W = 48, H = 32, ResizedW = 40, ResizedH = 24, Frames = 4, ResizeAt = 2;
    const double OneStep = 1.0 / 255 + 1e-6;

    [Test, Category(TestTools.Category)]
    public void Window_UnderXvfb_PresentsEveryFrame_SurvivesAResize_AndShowsTheHeadlessFrame()
    {
        var xvfb = XvfbServer.Find();
        TestTools.Require(xvfb != null, "Xvfb is not installed (tools/ensure-deps.sh installs the xvfb package)");
        var dir = Path.Combine(Path.GetTempPath(), "kiln-window-sample-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            var checkpoint = VisibleDenoiser(Path.Combine(dir, "denoiser.safetensors"));
            var shot = Path.Combine(dir, "window.png");
            SampleResult windowed;
            using (var server = XvfbServer.Start(xvfb))
                windowed = SampleHost.Run(SampleOptions.Parse(new[] { "--window", "--display", server.Display, "--size", $"{W}x{H}",
                    "--frames", $"{Frames}", "--resize", $"{ResizeAt}:{ResizedW}x{ResizedH}", "--screenshot", shot, "--checkpoint", checkpoint, "--validation" }),
                    new StringWriter());
            Assert.That(windowed.Validation, Is.True);
            Assert.That(windowed.ValidationMessages, Is.Empty, "the validation layer, through vkDestroyDevice and vkDestroyInstance (nothing left alive)");
            Assert.That(windowed.FramesRendered, Is.EqualTo(Frames));
            Assert.That(windowed.Swapchains, Is.EqualTo(2), "the first swapchain and the one after the resize");
            Assert.That(windowed.FrameSizes, Is.EqualTo(new[] { (W, H), (W, H), (ResizedW, ResizedH), (ResizedW, ResizedH) }), "render size per presented frame");
            Assert.That(windowed.Screenshot, Is.EqualTo(shot));

            var (pixels, h, w) = ImageFile.Load(shot);
            Assert.That((w, h), Is.EqualTo((2 * ResizedW, ResizedH)), "the window after the resize: noisy and denoised side by side");
            var noisy = Crop(pixels, w, h, 0, 0, ResizedW, ResizedH);
            var denoised = Crop(pixels, w, h, ResizedW, 0, ResizedW, ResizedH);
            Assert.That(Mean(noisy), Is.GreaterThan(0.1), "the scene is lit, not black");
            Assert.That(StdDev(noisy), Is.GreaterThan(0.05), "the scene is not flat");
            Assert.That(StdDev(denoised), Is.GreaterThan(0.02), "the denoised half has structure");
            Assert.That(MeanAbsDiff(noisy, denoised), Is.GreaterThan(0.05), "the denoised half is not the noisy one");

            // The same frame headless at the size the window ended at: its PNG has a 2-pixel grey border and gap.
            var headless = SampleHost.Run(SampleOptions.Parse(new[] { "--frames", $"{Frames}", "--out", Path.Combine(dir, "headless"),
                "--size", $"{ResizedW}x{ResizedH}", "--checkpoint", checkpoint, "--validation" }), TextWriter.Null);
            Assert.That(headless.ValidationMessages, Is.Empty);
            var (grid, gh, gw) = ImageFile.Load(headless.Files[^1]);
            Assert.That(MaxAbsDiff(noisy, Crop(grid, gw, gh, 2, 2, ResizedW, ResizedH)), Is.LessThanOrEqualTo(OneStep), "left half against the headless noisy frame");
            Assert.That(MaxAbsDiff(denoised, Crop(grid, gw, gh, 4 + ResizedW, 2, ResizedW, ResizedH)), Is.LessThanOrEqualTo(OneStep), "right half against the headless denoised frame");
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    /// <summary>
    /// The seed-0 denoiser with its output layer turned up (weights x8, bias 0.35) so that its picture is visible and
    /// structured: an untrained denoiser's output is near zero and would round to black in 8 bits.
    /// </summary>
    static string VisibleDenoiser(string path)
    {
        using var net = DenoiseUNet.Build().Compile(Gpu.Context,
            new CompileOptions { InputShapes = new Dictionary<string, Shape> { ["x"] = new Shape(1, DenoiseUNet.InputChannels, 16, 16) }, Seed = 0 });
        var weight = net.Parameters.Single(p => p.Value.Shape == new Shape(DenoiseUNet.OutputChannels, 64, 3, 3));
        var bias = net.Parameters[weight.Key.Replace(".weight", ".bias")];
        weight.Value.Upload(weight.Value.ToArray().Select(v => v * 8).ToArray());
        bias.Upload(Enumerable.Repeat(0.35f, DenoiseUNet.OutputChannels).ToArray());
        net.SaveParameters(path);
        return path;
    }

    static float[] Crop(float[] chw, int width, int height, int x0, int y0, int w, int h)
    {
        var o = new float[3 * w * h];
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++) o[(c * h + y) * w + x] = chw[(c * height + y0 + y) * width + x0 + x];
        return o;
    }

    static double Mean(float[] v) => v.Average(f => (double)f);

    static double StdDev(float[] v)
    {
        double mean = Mean(v);
        return Math.Sqrt(v.Average(f => (f - mean) * (f - mean)));
    }

    static double MeanAbsDiff(float[] a, float[] b) => a.Zip(b, (p, q) => (double)Math.Abs(p - q)).Average();

    static double MaxAbsDiff(float[] a, float[] b) => a.Zip(b, (p, q) => (double)Math.Abs(p - q)).Max();
}
