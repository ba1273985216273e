using Kiln.IO;
using Kiln.Realtime;
using NUnit.Framework;
using Kiln.Tests.Reference;

namespace Kiln.Tests.Realtime;

/// <summary>The image scene source: windows of still images sampled on the GPU, panning and cycling through a folder.</summary>
public sealed class ImageSceneTests : GpuTest
{
    string dir = "";

    [SetUp]
    public void MakeFolder()
    {
        dir = Path.Combine(Path.GetTempPath(), "kiln-images-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
    }

    [TearDown]
    public void RemoveFolder()
    {
        if (Directory.Exists(dir)) Directory.Delete(dir, true);
    }

    /// <summary>A smooth but non-linear pattern (bilinear sampling of it is not exact, so the reference must follow the shader's sampling).</summary>
    static float[] Pattern(int h, int w, int seed)
    {
        var chw = new float[3 * h * w];
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    chw[(c * h + y) * w + x] = (float)(0.5 + 0.45 * Math.Sin(0.21 * x * (c + 1) + 0.13 * y + seed));
        return chw;
    }

    string SavePng(string name, int h, int w, int seed)
    {
        var path = Path.Combine(dir, name);
        ImageFile.Save(path, Pattern(h, w, seed), 3, h, w);
        return path;
    }

    float[] Render(ImageScene scene, int w, int h, double time)
    {
        using var t = new Tensor(Context, new Shape(3, h, w), name: "image scene test output");
        using (var list = Context.CreateCommandList("image scene test"))
        {
            scene.RecordImage(new Frame(list), w, h, time, t);
            list.Run();
        }
        return t.ToArray();
    }

    /// <summary>Bilinear sampling as image_pan.comp documents it, in doubles, of the 8-bit values the PNG holds.</summary>
    static double[] Reference(float[] src, int sh, int sw, int h, int w, double ox, double oy, double scale)
    {
        var o = new double[3 * h * w];
        double At(int c, int y, int x) => src[(c * sh + y) * sw + x];
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                {
                    double sx = Math.Clamp(ox + (x + 0.5) * scale - 0.5, 0, sw - 1), sy = Math.Clamp(oy + (y + 0.5) * scale - 0.5, 0, sh - 1);
                    int x0 = (int)Math.Floor(sx), y0 = (int)Math.Floor(sy), x1 = Math.Min(x0 + 1, sw - 1), y1 = Math.Min(y0 + 1, sh - 1);
                    double fx = sx - x0, fy = sy - y0;
                    double top = At(c, y0, x0) * (1 - fx) + At(c, y0, x1) * fx, bottom = At(c, y1, x0) * (1 - fx) + At(c, y1, x1) * fx;
                    o[(c * h + y) * w + x] = top * (1 - fy) + bottom * fy;
                }
        return o;
    }

    [Test]
    public void StillImage_IsSampledAsTheCpuReference_AndPans()
    {
        var path = SavePng("still.png", 50, 70, 0);
        var (src, sh, sw) = ImageFile.Load(path);
        using var scene = ImageScene.Load(Context, path, secondsPerImage: 4);
        Assert.That(scene.Files, Is.EqualTo(new[] { path }));
        const int w = 24, h = 16;
        foreach (double time in new[] { 0.0, 1.0, 2.5 })
        {
            var (index, ox, oy, scale) = scene.Window(time, w, h);
            Assert.That(index, Is.EqualTo(0));
            Assert.That(scale, Is.EqualTo(0.75 * Math.Min(70.0 / w, 50.0 / h)).Within(1e-12));
            Assert.That(ox, Is.InRange(0.0, sw - w * scale));
            Assert.That(oy, Is.InRange(0.0, sh - h * scale));
            var got = Render(scene, w, h, time);
            double error = RelativeError.MaxRelative(got, Reference(src, sh, sw, h, w, ox, oy, scale));
            Assert.That(error, Is.LessThan(Tolerances.Forward), $"t = {time}");
        }
        var a = Render(scene, w, h, 0.0);
        var b = Render(scene, w, h, 1.0);
        Assert.That(a.Zip(b, (x, y) => Math.Abs(x - y)).Average(), Is.GreaterThan(0.02), "the window pans");
        Assert.That(Render(scene, w, h, 4.0), Is.EqualTo(a), "one image: the pan repeats after SecondsPerImage");
    }

    [Test]
    public void Folder_CyclesThroughItsImages_InOrder_SkippingUnreadableFiles()
    {
        var first = SavePng("a.png", 32, 32, 0);
        Directory.CreateDirectory(Path.Combine(dir, "sub"));
        var second = SavePng(Path.Combine("sub", "b.png"), 40, 24, 2);
        File.WriteAllText(Path.Combine(dir, "broken.png"), "not a png");
        File.WriteAllText(Path.Combine(dir, "notes.txt"), "ignored");
        var warnings = new List<string>();
        using var scene = ImageScene.Load(Context, dir, warnings.Add, secondsPerImage: 2);
        Assert.That(scene.Files, Is.EqualTo(new[] { first, second }));
        Assert.That(warnings, Has.Count.EqualTo(1).And.Some.Contains("broken.png"));
        Assert.That(scene.Window(0.5, 16, 16).Image, Is.EqualTo(0));
        Assert.That(scene.Window(2.5, 16, 16).Image, Is.EqualTo(1));
        Assert.That(scene.Window(4.5, 16, 16).Image, Is.EqualTo(0), "cycles");
        var (src, sh, sw) = ImageFile.Load(second);
        var (_, ox, oy, scale) = scene.Window(2.5, 16, 16);
        var got = Render(scene, 16, 16, 2.5);
        Assert.That(RelativeError.MaxRelative(got, Reference(src, sh, sw, 16, 16, ox, oy, scale)), Is.LessThan(Tolerances.Forward));
    }

    [Test]
    public void MissingPathOrNoImages_IsAClearError()
    {
        var missing = Path.Combine(dir, "nope");
        Assert.That(() => ImageScene.Load(Context, missing), Throws.TypeOf<KilnException>().With.Message.Contains(missing));
        File.WriteAllText(Path.Combine(dir, "notes.txt"), "no images");
        Assert.That(() => ImageScene.Load(Context, dir, _ => { }), Throws.TypeOf<KilnException>().With.Message.Contains("no usable"));
    }

    [Test]
    public void InpaintingDemo_OnAnImageScene_ShowsTheImageInItsFrames()
    {
        var path = SavePng("still.png", 48, 64, 1);
        using var scene = ImageScene.Load(Context, path);
        using var demo = new InpaintingDemo(Context, 32, 32, channels: new[] { 4, 8 }, images: scene);
        using var loop = new FrameLoop(demo);
        byte[]? rgba = null;
        var stats = loop.Run(2, f => rgba = f.Rgba.ToArray());
        Assert.That(stats.Records.All(r => double.IsFinite(r.Metrics["loss"])), Is.True);
        // The middle panel keeps the known pixels: compare them with the scene's image at the last frame's time
        // (the loop's clock is the frame index times SecondsPerFrame).
        var expected = Render(scene, 32, 32, stats.Records[^1].Index * new FrameLoopOptions().SecondsPerFrame);
        int known = 0, close = 0;
        for (int y = 0; y < 32; y++)
            for (int x = 0; x < 32; x++)
            {
                int i = (y * demo.Width + 2 * 32 + x) * 4; // mask panel: 0 where known
                if (rgba![i] != 0) continue;
                known++;
                int j = (y * demo.Width + 32 + x) * 4;
                if (Math.Abs(rgba[j] / 255.0 - expected[y * 32 + x]) < 1.5 / 255) close++; // panel mode 0: RGB clamped, 8 bits
            }
        Assert.That(known, Is.GreaterThan(100));
        Assert.That(close, Is.EqualTo(known), "known pixels of the result panel are the image's");
    }
}
