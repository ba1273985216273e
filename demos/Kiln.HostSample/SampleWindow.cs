using System.Runtime.InteropServices;
using Silk.NET.Vulkan;

namespace Kiln.HostSample;

/// <summary>
/// The sample's window: GLFW (no client API, resizable) on an X display, the instance extensions its Vulkan
/// surface needs, the surface itself, the framebuffer size, and a screenshot of what the window shows.
/// One per process (GLFW is initialised and terminated with it).
/// </summary>
internal sealed unsafe partial class SampleWindow : IDisposable
{
    readonly nint window;

    /// <summary>Opens a <paramref name="width"/> x <paramref name="height"/> window on <paramref name="display"/> (null: $DISPLAY).</summary>
    public SampleWindow(int width, int height, string? display, string title)
    {
        if (!Glfw.Available) throw new InvalidOperationException("host sample: --window needs GLFW 3 (libglfw.so.3; on Debian: apt-get install libglfw3).");
        if (!StartGlfw(display))
            throw new InvalidOperationException($"host sample: GLFW could not start ({Glfw.LastError()}); is there an X display (DISPLAY={display ?? Environment.GetEnvironmentVariable("DISPLAY") ?? "unset"})?");
        try
        {
            if (Glfw.VulkanSupported() == 0) throw new InvalidOperationException($"host sample: GLFW finds no usable Vulkan loader ({Glfw.LastError()}).");
            uint count;
            var names = Glfw.GetRequiredInstanceExtensions(&count);
            if (names == null) throw new InvalidOperationException($"host sample: GLFW knows no Vulkan surface extension for this display ({Glfw.LastError()}).");
            RequiredInstanceExtensions = Enumerable.Range(0, (int)count).Select(i => Marshal.PtrToStringUTF8((nint)names[i])!).ToArray();
            Glfw.WindowHint(Glfw.ClientApi, Glfw.NoApi);
            Glfw.WindowHint(Glfw.Resizable, Glfw.True);
            window = Glfw.CreateWindow(width, height, title, 0, 0);
            if (window == 0) throw new InvalidOperationException($"host sample: GLFW could not open a {width}x{height} window ({Glfw.LastError()}).");
        }
        catch
        {
            Glfw.Terminate();
            throw;
        }
    }

    /// <summary>What the instance must enable for <see cref="CreateSurface"/> (VK_KHR_surface and the platform's).</summary>
    public IReadOnlyList<string> RequiredInstanceExtensions { get; }

    /// <summary>The window's Vulkan surface on <paramref name="instance"/>; the caller destroys it (vkDestroySurfaceKHR) before the instance.</summary>
    public SurfaceKHR CreateSurface(Instance instance)
    {
        ulong surface;
        var r = (Result)Glfw.CreateWindowSurface(instance.Handle, window, null, &surface);
        SampleDevice.Check(r, $"glfwCreateWindowSurface ({Glfw.LastError()})");
        return new SurfaceKHR(surface);
    }

    /// <summary>The framebuffer's size in pixels now (0 x 0 while minimised).</summary>
    public (int Width, int Height) FramebufferSize
    {
        get
        {
            int w, h;
            Glfw.GetFramebufferSize(window, &w, &h);
            return (w, h);
        }
    }

    /// <summary>True once the user asked to close the window.</summary>
    public bool ShouldClose => Glfw.WindowShouldClose(window) != 0;

    /// <summary>Handles pending window events (resizes, close requests).</summary>
    public void PollEvents() => Glfw.PollEvents();

    /// <summary>Sleeps until a window event arrives or <paramref name="seconds"/> pass.</summary>
    public void WaitForEvents(double seconds) => Glfw.WaitEventsTimeout(seconds);

    /// <summary>Resizes the window as a user dragging its border would; the framebuffer follows once the X server has done it.</summary>
    public void Resize(int width, int height) => Glfw.SetWindowSize(window, width, height);

    /// <summary>
    /// Waits up to <paramref name="seconds"/> for the framebuffer to become <paramref name="width"/> x <paramref name="height"/>
    /// (a resize is asynchronous: the X server answers with an event); returns whether it did.
    /// </summary>
    public bool WaitForSize(int width, int height, double seconds)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (FramebufferSize != (width, height))
        {
            if (sw.Elapsed.TotalSeconds > seconds) return false;
            Glfw.WaitEventsTimeout(0.05);
        }
        return true;
    }

    /// <summary>The window's pixels as the X server shows them now (RGB planes, 0..1); X11 only.</summary>
    public float[] Screenshot(int width, int height)
    {
        var display = Glfw.GetX11Display();
        if (display == 0) throw new InvalidOperationException("host sample: --screenshot needs an X11 window.");
        return X11Screenshot.Grab(display, Glfw.GetX11Window(window), width, height);
    }

    public void Dispose()
    {
        Glfw.DestroyWindow(window);
        Glfw.Terminate();
    }

    /// <summary>glfwInit on <paramref name="display"/>: GLFW opens the display named by DISPLAY in the native environment, set just for the call.</summary>
    static bool StartGlfw(string? display)
    {
        if (display == null) return Glfw.Init() != 0;
        var previous = Marshal.PtrToStringUTF8(getenv("DISPLAY"));
        if (setenv("DISPLAY", display, 1) != 0) throw new InvalidOperationException($"host sample: could not set DISPLAY={display}.");
        try { return Glfw.Init() != 0; }
        finally
        {
            if (previous != null) setenv("DISPLAY", previous, 1);
            else unsetenv("DISPLAY");
        }
    }

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint getenv(string name);
    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int setenv(string name, string value, int overwrite);
    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int unsetenv(string name);
}
