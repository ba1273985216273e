using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Kiln.Cli.Viewer;
using Kiln.Realtime;
using NUnit.Framework;

namespace Kiln.Tests.Realtime;

/// <summary>The browser viewer's HTTP page and WebSocket protocol, end to end through ClientWebSocket.</summary>
public sealed class BrowserViewerTests : GpuTest
{
    const int Size = 32;
    static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    sealed class Running : IAsyncDisposable
    {
        public required InpaintingDemo Demo;
        public required BrowserViewer Viewer;
        public required FrameLoop Loop;
        public required Task Task;
        public required CancellationTokenSource Stop;

        public async ValueTask DisposeAsync()
        {
            Stop.Cancel();
            try { await Task; } catch (OperationCanceledException) { }
            await Viewer.DisposeAsync();
            Loop.Dispose();
            Demo.Dispose();
        }
    }

    static async Task<Running> Start()
    {
        var demo = new InpaintingDemo(Context, Size, Size, channels: new[] { 4, 8 });
        var viewer = await BrowserViewer.StartAsync(demo, 0);
        var loop = new FrameLoop(demo, new FrameLoopOptions { TargetFps = 50 });
        var stop = new CancellationTokenSource();
        var task = Task.Run(() => loop.Run(int.MaxValue, viewer.Present, stop.Token));
        return new Running { Demo = demo, Viewer = viewer, Loop = loop, Task = task, Stop = stop };
    }

    static async Task<ClientWebSocket> Connect(BrowserViewer viewer)
    {
        var ws = new ClientWebSocket();
        await ws.ConnectAsync(new Uri($"ws://127.0.0.1:{viewer.Port}/ws"), new CancellationTokenSource(Patience).Token);
        return ws;
    }

    static async Task<(WebSocketMessageType Type, byte[] Data)> ReceiveMessage(ClientWebSocket ws)
    {
        using var cancel = new CancellationTokenSource(Patience);
        var buffer = new byte[1 << 16];
        using var all = new MemoryStream();
        ValueWebSocketReceiveResult r;
        do
        {
            r = await ws.ReceiveAsync(buffer.AsMemory(), cancel.Token);
            all.Write(buffer, 0, r.Count);
        } while (!r.EndOfMessage);
        return (r.MessageType, all.ToArray());
    }

    /// <summary>Receives until a message satisfies <paramref name="accept"/>.</summary>
    static async Task<byte[]> ReceiveUntil(ClientWebSocket ws, Func<WebSocketMessageType, byte[], bool> accept)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (DateTime.UtcNow < deadline)
        {
            var (type, data) = await ReceiveMessage(ws);
            if (accept(type, data)) return data;
        }
        throw new TimeoutException("no such message arrived");
    }

    static Task SendText(ClientWebSocket ws, string text) =>
        ws.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, CancellationToken.None);

    static bool IsError(WebSocketMessageType t, byte[] d) =>
        t == WebSocketMessageType.Text && JsonDocument.Parse(d).RootElement.GetProperty("type").GetString() == "error";

    [Test]
    public async Task ServesThePage_OnLoopbackOnly()
    {
        await using var run = await Start();
        Assert.That(run.Viewer.Address, Does.StartWith("http://127.0.0.1:"));
        using var http = new HttpClient { Timeout = Patience };
        var page = await http.GetStringAsync(run.Viewer.Address + "/");
        Assert.That(page, Does.Contain("<canvas"));
        Assert.That(page, Does.Contain("/ws"));
        var plain = await http.GetAsync(run.Viewer.Address + "/ws");
        Assert.That((int)plain.StatusCode, Is.EqualTo(400), "/ws without a WebSocket upgrade");
        var other = await http.GetAsync(run.Viewer.Address + "/etc/passwd");
        Assert.That((int)other.StatusCode, Is.EqualTo(404), "nothing else is served");
    }

    [Test]
    public async Task FramesArrive_AndAStrokeChangesTheMaskTheEngineUses()
    {
        await using var run = await Start();
        using var ws = await Connect(run.Viewer);
        var hello = JsonDocument.Parse(await ReceiveUntil(ws, (t, _) => t == WebSocketMessageType.Text)).RootElement;
        Assert.That(hello.GetProperty("type").GetString(), Is.EqualTo("hello"));
        Assert.That(hello.GetProperty("width").GetInt32(), Is.EqualTo(3 * Size));
        Assert.That(hello.GetProperty("paint_width").GetInt32(), Is.EqualTo(Size));

        var frame = await ReceiveUntil(ws, (t, _) => t == WebSocketMessageType.Binary);
        Assert.That(BitConverter.ToUInt32(frame, 4), Is.EqualTo(3 * Size));
        Assert.That(BitConverter.ToUInt32(frame, 8), Is.EqualTo(Size));
        Assert.That(frame.Length, Is.EqualTo(12 + 3 * Size * Size * 4));

        // A short stroke at the top-left: the mask panel (the third) turns white there and only there.
        await SendText(ws, """{"type":"stroke","points":[[4,4],[8,4]],"radius":3}""");
        byte MaskAt(byte[] f, int x, int y) => f[12 + (y * 3 * Size + 2 * Size + x) * 4];
        var painted = await ReceiveUntil(ws, (t, d) => t == WebSocketMessageType.Binary && MaskAt(d, 6, 4) == 255);
        Assert.That(MaskAt(painted, 28, 28), Is.EqualTo(0), "away from the stroke the painted mask is empty");
        Assert.That(run.Demo.Paintable!.Active, Is.True);

        await SendText(ws, """{"type":"training","on":false}""");
        await ReceiveUntil(ws, (t, d) => t == WebSocketMessageType.Text && d.Length > 0
            && JsonDocument.Parse(d).RootElement is var e && e.GetProperty("type").GetString() == "stats" && !e.GetProperty("training").GetBoolean());
        Assert.That(run.Demo.Training, Is.False);
        Assert.That(run.Viewer.RefusedMessages, Is.Zero);
        await ws.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", CancellationToken.None);
    }

    [TestCase("not json")]
    [TestCase("[1,2]")]
    [TestCase("""{"type":"teleport"}""")]
    [TestCase("""{"type":"stroke","points":[[4,4]],"radius":1000}""")]
    [TestCase("""{"type":"stroke","points":[[400,4]],"radius":2}""")]
    [TestCase("""{"type":"stroke","points":[[4]],"radius":2}""")]
    [TestCase("""{"type":"stroke","points":[],"radius":2}""")]
    [TestCase("""{"type":"training","on":"yes"}""")]
    public async Task BadMessages_AreRefused_AndChangeNothing(string message)
    {
        await using var run = await Start();
        using var ws = await Connect(run.Viewer);
        await SendText(ws, message);
        var error = await ReceiveUntil(ws, IsError);
        TestContext.Progress.WriteLine(Encoding.UTF8.GetString(error));
        Assert.That(run.Viewer.RefusedMessages, Is.EqualTo(1));
        Assert.That(run.Demo.Paintable!.Active, Is.False);
        Assert.That(run.Demo.Training, Is.True);
        Assert.That(ws.State, Is.EqualTo(WebSocketState.Open), "a refused message does not end the session");
    }

    [Test]
    public async Task AnOversizedMessage_ClosesTheConnection()
    {
        await using var run = await Start();
        using var ws = await Connect(run.Viewer);
        try
        {
            await ws.SendAsync(new byte[ViewerProtocol.MaxMessageBytes * 2], WebSocketMessageType.Text, true, CancellationToken.None);
            await ReceiveUntil(ws, (t, _) => t == WebSocketMessageType.Close);
            Assert.That(ws.CloseStatus, Is.EqualTo(WebSocketCloseStatus.MessageTooBig));
        }
        catch (WebSocketException)
        {
            // The server sends its MessageTooBig close and ends the connection; when the TCP close overtakes the
            // close frame the client sees an unfinished handshake instead. Either way the connection is gone.
            Assert.That(ws.State, Is.AnyOf(WebSocketState.Aborted, WebSocketState.Closed));
        }
        Assert.That(() => run.Viewer.ClientCount, Is.Zero.After(2000, 50), "the server dropped the client");
    }

    [Test]
    public async Task ASlowClient_NeverStallsTheLoop()
    {
        // 128x128 frames (3 panels, 192 KiB each) for 40 frames: more than the loopback socket buffers hold.
        var demo = new InpaintingDemo(Context, 128, 128, channels: new[] { 4, 8 }) { Training = false };
        await using var viewer = await BrowserViewer.StartAsync(demo, 0);
        try
        {
            // Connected, never reading: the server's sends back up while the loop goes on.
            using var ws = await Connect(viewer);
            using var loop = new FrameLoop(demo);
            var stats = loop.Run(40, viewer.Present);
            Assert.That(stats.Frames, Is.EqualTo(40));
            Assert.That(viewer.ClientCount, Is.EqualTo(1));
        }
        finally { demo.Dispose(); }
    }
}
