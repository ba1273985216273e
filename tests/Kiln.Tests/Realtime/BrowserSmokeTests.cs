using Kiln.Cli.Viewer;
using Kiln.Realtime;
using Microsoft.Playwright;
using NUnit.Framework;

namespace Kiln.Tests.Realtime;

/// <summary>
/// The viewer in a real browser: Debian's chromium (/usr/bin/chromium, headless) driven by Microsoft.Playwright loads
/// the page, sees frames drawn on the canvas, paints a stroke with the mouse, and the engine's mask changes. Fails when
/// /usr/bin/chromium is absent (tools/ensure-deps.sh installs it; <see cref="TestTools"/>).
/// </summary>
public sealed class BrowserSmokeTests : GpuTest
{
    const string Chromium = "/usr/bin/chromium";
    const int Size = 32;
    const float Timeout = 60_000;

    [Test, Category(TestTools.Category)]
    public async Task Chromium_ShowsFrames_AndAMouseStrokePaintsTheMask()
    {
        TestTools.Require(File.Exists(Chromium), $"{Chromium} is not installed (apt-get install chromium)");
        // Training off: the test is about the viewer, and cheap frames keep it quick on a loaded CPU device.
        using var demo = new InpaintingDemo(Context, Size, Size, channels: new[] { 4, 8 }) { Training = false };
        await using var viewer = await BrowserViewer.StartAsync(demo, 0);
        using var loop = new FrameLoop(demo, new FrameLoopOptions { TargetFps = 30 });
        using var stop = new CancellationTokenSource();
        var run = Task.Run(() => loop.Run(int.MaxValue, viewer.Present, stop.Token));
        try
        {
            using var playwright = await Playwright.CreateAsync();
            await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = Chromium,
                Headless = true,
                Args = new[] { "--no-sandbox" },
            });
            var page = await browser.NewPageAsync();
            page.SetDefaultTimeout(Timeout);
            await page.GotoAsync(viewer.Address);

            // Frames arrive: the canvas takes the frame's size and its first panel shows an image (many distinct pixels).
            await page.WaitForFunctionAsync($$"""
                () => { const c = document.getElementById('view'); if (c.width !== {{3 * Size}}) return false;
                        const d = c.getContext('2d').getImageData(0, 0, {{Size}}, {{Size}}).data; const seen = new Set();
                        for (let i = 0; i < d.length; i += 4) seen.add(d[i] * 65536 + d[i + 1] * 256 + d[i + 2]);
                        return seen.size > 16; }
                """);
            await page.WaitForFunctionAsync("() => /frame \\d+/.test(document.getElementById('hud').textContent)");
            Assert.That(demo.Paintable!.Active, Is.False);

            // A mouse stroke across the first panel, from frame pixel (4, 4) to (10, 4).
            var box = await page.Locator("#view").BoundingBoxAsync() ?? throw new AssertionException("the canvas has no box");
            float X(float px) => box.X + (px + 0.5f) / (3 * Size) * box.Width;
            float Y(float py) => box.Y + (py + 0.5f) / Size * box.Height;
            await page.Mouse.MoveAsync(X(4), Y(4));
            await page.Mouse.DownAsync();
            await page.Mouse.MoveAsync(X(10), Y(4), new MouseMoveOptions { Steps = 6 });
            await page.Mouse.UpAsync();

            // The engine paints the mask (Active), and frames made with it reach the canvas: the mask panel (the
            // third) is white along the stroke and black away from it.
            await page.WaitForFunctionAsync($$"""
                () => document.getElementById('view').getContext('2d').getImageData({{2 * Size + 7}}, 4, 1, 1).data[0] === 255
                """);
            Assert.That(demo.Paintable!.Active, Is.True, "the engine's mask was painted");
            var away = await page.EvaluateAsync<int>($"() => document.getElementById('view').getContext('2d').getImageData({2 * Size + 28}, 28, 1, 1).data[0]");
            Assert.That(away, Is.EqualTo(0), "away from the stroke the mask is empty");
            Assert.That(viewer.RefusedMessages, Is.Zero, "the page's messages are all valid");
        }
        finally
        {
            stop.Cancel();
            try { await run; } catch (OperationCanceledException) { }
        }
    }
}
