using Kiln.HostSample;
using Kiln.IO;
using Kiln.Models;
using Kiln.Tests.Acceptance;
using Kiln.Tests.Reference;
using NUnit.Framework;

namespace Kiln.Tests.Embedding;

/// <summary>
/// demos/Kiln.HostSample run in-process, headless, with the validation layer (synchronization validation on) on
/// its own instance: its PNGs exist and show a moving, noisy scene, its G-buffer is plausible, the denoised half
/// is the seed-0 denoiser's output on exactly the frame's inputs (CPU reference network), and the layer stayed silent.
/// </summary>
public sealed class HostSampleTests
{
    const int W = 48, H = 32, Frames = 3;

    [Test]
    public void HeadlessRun_WritesMovingNoisyFrames_DenoisedByKilnInTheHostsFrame_WithValidationSilent()
    {
        var dir = Path.Combine(Path.GetTempPath(), "kiln-host-sample-" + Guid.NewGuid().ToString("N"));
        try
        {
            var result = SampleHost.Run(SampleOptions.Parse(new[] { "--frames", $"{Frames}", "--out", dir, "--size", $"{W}x{H}", "--validation" }), TextWriter.Null);
            Assert.That(result.Validation, Is.True);
            Assert.That(result.ValidationMessages, Is.Empty, "the validation layer on the sample's instance (Kiln's calls included)");

            Assert.That(result.Files, Has.Count.EqualTo(Frames));
            var images = new List<float[]>();
            foreach (var file in result.Files)
            {
                Assert.That(File.Exists(file), Is.True, file);
                var (chw, h, w) = ImageFile.Load(file);
                Assert.That(h, Is.GreaterThanOrEqualTo(H), "one frame high");
                Assert.That(w, Is.GreaterThanOrEqualTo(2 * W), "noisy and denoised side by side");
                Assert.That(StdDev(chw), Is.GreaterThan(0.05), $"{file} is not flat");
                images.Add(chw);
            }
            Assert.That(MeanAbsDiff(images[0], images[^1]), Is.GreaterThan(0.01), "the camera moves between frames");

            var (color, albedo, normal, denoised) = (result.LastFrame[0], result.LastFrame[1], result.LastFrame[2], result.LastFrame[3]);
            // The top row looks at the sky (blue over red); normals are unit vectors; albedo has several materials.
            for (int x = 0; x < W; x++) Assert.That(albedo[x * 4 + 2], Is.GreaterThan(albedo[x * 4]), $"sky at ({x}, 0)");
            for (int p = 0; p < W * H; p++)
            {
                double len = Math.Sqrt(normal[p * 4] * normal[p * 4] + normal[p * 4 + 1] * normal[p * 4 + 1] + normal[p * 4 + 2] * normal[p * 4 + 2]);
                Assert.That(len, Is.EqualTo(1).Within(1e-3), $"normal at pixel {p}");
            }
            int materials = Enumerable.Range(0, W * H).Select(p => (Math.Round(albedo[p * 4], 2), Math.Round(albedo[p * 4 + 1], 2), Math.Round(albedo[p * 4 + 2], 2))).Distinct().Count();
            Assert.That(materials, Is.GreaterThanOrEqualTo(4), "ground checks, sky and objects");
            Assert.That(StdDev(NoiseOf(color)), Is.GreaterThan(0.02), "per-pixel noise in the colour");

            CheckDenoised(color, albedo, normal, denoised);
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); }
    }

    [Test]
    public void BadArguments_SayWhich()
    {
        Assert.That(Assert.Throws<ArgumentException>(() => SampleOptions.Parse(new[] { "--frames", "0" }))!.Message, Does.Contain("--frames"));
        Assert.That(Assert.Throws<ArgumentException>(() => SampleOptions.Parse(new[] { "--size", "12" }))!.Message, Does.Contain("--size"));
        Assert.That(Assert.Throws<ArgumentException>(() => SampleOptions.Parse(new[] { "--out" }))!.Message, Does.Contain("--out"));
        Assert.That(Assert.Throws<ArgumentException>(() => SampleOptions.Parse(new[] { "--bogus" }))!.Message, Does.Contain("--bogus"));
        Assert.That(Assert.Throws<ArgumentException>(() => SampleOptions.Parse(new[] { "--resize", "1:8x8" }))!.Message, Does.Contain("--window"));
        Assert.That(Assert.Throws<ArgumentException>(() => SampleOptions.Parse(new[] { "--window", "--resize", "8x8" }))!.Message, Does.Contain("--resize"));
        Assert.That(Assert.Throws<ArgumentException>(() => SampleOptions.Parse(new[] { "--window", "--frames", "3", "--resize", "3:8x8" }))!.Message, Does.Contain("after the last frame"));
        Assert.That(Kiln.HostSample.Program.Main(new[] { "--noise", "x" }), Is.EqualTo(2));
    }

    /// <summary>The denoiser as the sample built it (seed 0, 48x32 needs no padding), on the CPU, against the sample's denoised image.</summary>
    static void CheckDenoised(float[] color, float[] albedo, float[] normal, float[] denoised)
    {
        var net = DenoiseUNet.Build();
        Dictionary<string, float[]> parameters;
        using (var compiled = net.Compile(Gpu.Context, new CompileOptions { InputShapes = new Dictionary<string, Shape> { ["x"] = new Shape(1, 9, H, W) }, Seed = 0 }))
            parameters = compiled.Parameters.ToDictionary(p => p.Key, p => p.Value.ToArray());
        var x = new double[9 * H * W];
        var inputs = new[] { color, albedo, normal };
        for (int i = 0; i < 3; i++)
            for (int k = 0; k < 3; k++)
                for (int p = 0; p < H * W; p++) x[(i * 3 + k) * H * W + p] = inputs[i][p * 4 + k];
        var y = ReferenceNetwork.Forward(DenoiseUNet.Build(), new Dictionary<string, (double[], int[])> { ["x"] = (x, new[] { 1, 9, H, W }) },
            n => parameters[n].Select(v => (double)v).ToArray())["y"].Data;
        var expected = new List<double>();
        var actual = new List<float>();
        for (int k = 0; k < 3; k++)
            for (int p = 0; p < H * W; p++)
            {
                expected.Add(y[k * H * W + p]);
                actual.Add(denoised[p * 4 + k]);
            }
        Assert.That(RelativeError.MaxRelative(actual, expected), Is.LessThan(Tolerances.Forward), "denoised frame against the CPU reference network");
    }

    /// <summary>Colour minus its 3x3 box blur (red channel): the per-pixel grain.</summary>
    static float[] NoiseOf(float[] rgba)
    {
        var d = new List<float>();
        for (int y = 1; y < H - 1; y++)
            for (int x = 1; x < W - 1; x++)
            {
                float s = 0;
                for (int dy = -1; dy <= 1; dy++)
                    for (int dx = -1; dx <= 1; dx++) s += rgba[((y + dy) * W + x + dx) * 4];
                d.Add(rgba[(y * W + x) * 4] - s / 9);
            }
        return d.ToArray();
    }

    static double StdDev(float[] v)
    {
        double mean = v.Average(f => (double)f);
        return Math.Sqrt(v.Average(f => (f - mean) * (f - mean)));
    }

    static double MeanAbsDiff(float[] a, float[] b) => a.Zip(b, (p, q) => (double)Math.Abs(p - q)).Average();
}
