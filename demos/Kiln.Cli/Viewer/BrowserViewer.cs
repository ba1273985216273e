using Kiln.Realtime;
using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Kiln.Cli.Viewer;

/// <summary>
/// A local web server (ASP.NET Core's Kestrel) showing a running demo in the browser: GET / serves a page with a
/// canvas, /ws is a WebSocket that streams every presented frame (binary: frame index, width, height as little-endian
/// uint32, then RGBA8 pixels) followed by its stats (JSON text), and takes the page's messages
/// (<see cref="ViewerProtocol"/>: brush strokes into the demo's painted mask, clear, training on/off), validated and
/// rate-limited. <see cref="Present"/> only swaps in the newest frame: a slow or closed client misses frames and never
/// stalls the loop. Bound to 127.0.0.1 unless told otherwise; nothing from the page touches the file system.
/// </summary>
public sealed class BrowserViewer : IAsyncDisposable, IDisposable
{
    /// <summary>Messages a client may send per second; more are refused.</summary>
    public const int MaxMessagesPerSecond = 120;
    readonly RealtimeDemo demo;
    readonly WebApplication app;
    readonly CancellationTokenSource stopping = new();
    readonly List<Client> clients = new();
    Snapshot? latest;
    int refused;

    sealed record Snapshot(int Index, byte[] Binary, string Stats);

    sealed class Client
    {
        public readonly SemaphoreSlim FrameReady = new(0, 1);

        /// <summary>Wakes the sender for the newest frame; a wake-up already pending covers it (the count is at most 1).</summary>
        public void Signal()
        {
            try { FrameReady.Release(); } catch (SemaphoreFullException) { }
        }
        public readonly SemaphoreSlim SendLock = new(1, 1);
    }

    BrowserViewer(RealtimeDemo demo, WebApplication app)
    {
        this.demo = demo;
        this.app = app;
    }

    /// <summary>
    /// Starts serving <paramref name="demo"/> on <paramref name="port"/> (0 picks a free one; see <see cref="Port"/>) at
    /// <paramref name="address"/> (default 127.0.0.1).
    /// </summary>
    public static async Task<BrowserViewer> StartAsync(RealtimeDemo demo, int port, IPAddress? address = null)
    {
        ArgumentNullException.ThrowIfNull(demo);
        if (port is < 0 or > 65535) throw new ArgumentOutOfRangeException(nameof(port), port, "A TCP port is 0 to 65535.");
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = "Kiln.Viewer", ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(address ?? IPAddress.Loopback, port));
        var app = builder.Build();
        var viewer = new BrowserViewer(demo, app);
        app.UseWebSockets();
        app.MapGet("/", () => Results.Content(ViewerPage.Html, "text/html; charset=utf-8"));
        app.Map("/ws", viewer.Serve);
        await app.StartAsync();
        var addresses = app.Services.GetService(typeof(Microsoft.AspNetCore.Hosting.Server.IServer)) is Microsoft.AspNetCore.Hosting.Server.IServer server
            ? server.Features.Get<IServerAddressesFeature>()?.Addresses : null;
        viewer.Address = addresses?.FirstOrDefault() ?? $"http://{address ?? IPAddress.Loopback}:{port}";
        viewer.Port = new Uri(viewer.Address).Port;
        return viewer;
    }

    /// <summary>The page's address, e.g. http://127.0.0.1:8080.</summary>
    public string Address { get; private set; } = "";
    /// <summary>The port the server listens on.</summary>
    public int Port { get; private set; }
    /// <summary>Clients connected now.</summary>
    public int ClientCount { get { lock (clients) return clients.Count; } }
    /// <summary>Messages refused so far (malformed, out of range, too fast, too large).</summary>
    public int RefusedMessages => Volatile.Read(ref refused);

    /// <summary>Hands a frame to the clients (a copy; returns at once, whatever the clients are doing).</summary>
    public void Present(CompletedFrame frame)
    {
        var binary = new byte[12 + frame.Rgba.Length];
        BitConverter.TryWriteBytes(binary.AsSpan(0), (uint)frame.Record.Index);
        BitConverter.TryWriteBytes(binary.AsSpan(4), (uint)frame.Width);
        BitConverter.TryWriteBytes(binary.AsSpan(8), (uint)frame.Height);
        frame.Rgba.CopyTo(binary.AsSpan(12));
        var r = frame.Record;
        var stats = JsonSerializer.Serialize(new
        {
            type = "stats",
            frame = r.Index,
            frame_ms = r.FrameMilliseconds,
            stage_gpu_ms = r.StageMilliseconds.ToDictionary(kv => kv.Key.ToString().ToLowerInvariant(), kv => kv.Value),
            metrics = r.Metrics.Where(kv => double.IsFinite(kv.Value)).ToDictionary(kv => kv.Key, kv => kv.Value),
            training = demo.Training,
        });
        Volatile.Write(ref latest, new Snapshot(r.Index, binary, stats));
        lock (clients)
            foreach (var c in clients)
                c.Signal();
    }

    async Task Serve(HttpContext http)
    {
        if (!http.WebSockets.IsWebSocketRequest)
        {
            http.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }
        using var socket = await http.WebSockets.AcceptWebSocketAsync();
        var client = new Client();
        lock (clients) clients.Add(client);
        using var done = CancellationTokenSource.CreateLinkedTokenSource(stopping.Token, http.RequestAborted);
        try
        {
            var hello = JsonSerializer.Serialize(new { type = "hello", demo = demo.Name, width = demo.Width, height = demo.Height, paint_width = demo.Paintable?.Width ?? 0, paint_height = demo.Paintable?.Height ?? 0 });
            await Send(socket, client, Encoding.UTF8.GetBytes(hello), WebSocketMessageType.Text, done.Token);
            // Present may already have signalled this client between its registration and here: Signal tolerates that
            // (a plain Release threw SemaphoreFullException and dropped the connection before its first frame).
            if (Volatile.Read(ref latest) != null) client.Signal();
            var sender = SendFrames(socket, client, done.Token);
            await Receive(socket, client, done.Token);
            done.Cancel();
            try { await sender; } catch (OperationCanceledException) { }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException) { }
        finally
        {
            lock (clients) clients.Remove(client);
        }
    }

    async Task SendFrames(WebSocket socket, Client client, CancellationToken cancel)
    {
        try
        {
            int sent = -1;
            while (socket.State == WebSocketState.Open)
            {
                await client.FrameReady.WaitAsync(cancel);
                var s = Volatile.Read(ref latest);
                if (s == null || s.Index == sent) continue;
                await Send(socket, client, s.Binary, WebSocketMessageType.Binary, cancel);
                await Send(socket, client, Encoding.UTF8.GetBytes(s.Stats), WebSocketMessageType.Text, cancel);
                sent = s.Index;
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException) { }
    }

    static async Task Send(WebSocket socket, Client client, byte[] data, WebSocketMessageType type, CancellationToken cancel)
    {
        await client.SendLock.WaitAsync(cancel);
        try { await socket.SendAsync(data, type, true, cancel); }
        finally { client.SendLock.Release(); }
    }

    async Task Receive(WebSocket socket, Client client, CancellationToken cancel)
    {
        var buffer = new byte[ViewerProtocol.MaxMessageBytes];
        var window = new Queue<DateTime>();
        while (socket.State == WebSocketState.Open)
        {
            int length = 0;
            ValueWebSocketReceiveResult result;
            do
            {
                if (length == buffer.Length)
                {
                    Interlocked.Increment(ref refused);
                    // Send the close and drop the connection: waiting for the client's close would mean reading
                    // the rest of a message we already refused.
                    await socket.CloseOutputAsync(WebSocketCloseStatus.MessageTooBig, $"messages are at most {ViewerProtocol.MaxMessageBytes} bytes", cancel);
                    return;
                }
                result = await socket.ReceiveAsync(buffer.AsMemory(length), cancel);
                length += result.Count;
            } while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                if (socket.State == WebSocketState.CloseReceived)
                    await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", cancel);
                return;
            }
            var now = DateTime.UtcNow;
            while (window.Count > 0 && now - window.Peek() > TimeSpan.FromSeconds(1)) window.Dequeue();
            window.Enqueue(now);
            string? error = null;
            if (window.Count > MaxMessagesPerSecond) error = $"more than {MaxMessagesPerSecond} messages a second";
            else if (result.MessageType != WebSocketMessageType.Text) error = "messages are JSON text";
            else Apply(Encoding.UTF8.GetString(buffer, 0, length), out error);
            if (error != null)
            {
                Interlocked.Increment(ref refused);
                var reply = JsonSerializer.Serialize(new { type = "error", message = error });
                await Send(socket, client, Encoding.UTF8.GetBytes(reply), WebSocketMessageType.Text, cancel);
            }
        }
    }

    void Apply(string text, out string? error)
    {
        var paint = demo.Paintable;
        var command = ViewerProtocol.Parse(text, paint?.Width ?? demo.Width, paint?.Height ?? demo.Height, out var why);
        error = command == null ? why : null;
        switch (command)
        {
            case StrokeCommand s when paint != null: paint.Stroke(s.Points, s.Radius); break;
            case StrokeCommand: error = $"the {demo.Name} demo has no mask to paint"; break;
            case ClearCommand: paint?.Clear(); break;
            case TrainingCommand t: demo.Training = t.On; break;
        }
    }

    /// <summary>Stops the server and closes every connection.</summary>
    public async ValueTask DisposeAsync()
    {
        if (stopping.IsCancellationRequested) return;
        stopping.Cancel();
        await app.StopAsync();
        await app.DisposeAsync();
        stopping.Dispose();
    }

    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();
}
