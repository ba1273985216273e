using System.Runtime.InteropServices;

namespace Kiln.HostSample;

/// <summary>
/// The few GLFW 3.3 calls the sample's window needs, through P/Invoke on the system's libglfw.so.3 (Debian's
/// libglfw3). GLFW makes the window and its Vulkan surface; everything else Vulkan goes through Silk.NET.
/// </summary>
internal static unsafe partial class Glfw
{
    const string Lib = "libglfw.so.3";

    public const int ClientApi = 0x00022001, NoApi = 0, Resizable = 0x00020003, True = 1;

    /// <summary>Whether the library can be loaded at all (libglfw3 installed).</summary>
    public static bool Available => NativeLibrary.TryLoad(Lib, out var handle) && Free(handle);

    static bool Free(nint handle)
    {
        NativeLibrary.Free(handle);
        return true;
    }

    [LibraryImport(Lib, EntryPoint = "glfwInit")] public static partial int Init();
    [LibraryImport(Lib, EntryPoint = "glfwTerminate")] public static partial void Terminate();
    [LibraryImport(Lib, EntryPoint = "glfwGetError")] public static partial int GetError(byte** description);
    [LibraryImport(Lib, EntryPoint = "glfwVulkanSupported")] public static partial int VulkanSupported();
    [LibraryImport(Lib, EntryPoint = "glfwGetRequiredInstanceExtensions")] public static partial byte** GetRequiredInstanceExtensions(uint* count);
    [LibraryImport(Lib, EntryPoint = "glfwWindowHint")] public static partial void WindowHint(int hint, int value);
    [LibraryImport(Lib, EntryPoint = "glfwCreateWindow", StringMarshalling = StringMarshalling.Utf8)]
    public static partial nint CreateWindow(int width, int height, string title, nint monitor, nint share);
    [LibraryImport(Lib, EntryPoint = "glfwDestroyWindow")] public static partial void DestroyWindow(nint window);
    [LibraryImport(Lib, EntryPoint = "glfwWindowShouldClose")] public static partial int WindowShouldClose(nint window);
    [LibraryImport(Lib, EntryPoint = "glfwPollEvents")] public static partial void PollEvents();
    [LibraryImport(Lib, EntryPoint = "glfwWaitEventsTimeout")] public static partial void WaitEventsTimeout(double seconds);
    [LibraryImport(Lib, EntryPoint = "glfwGetFramebufferSize")] public static partial void GetFramebufferSize(nint window, int* width, int* height);
    [LibraryImport(Lib, EntryPoint = "glfwSetWindowSize")] public static partial void SetWindowSize(nint window, int width, int height);
    [LibraryImport(Lib, EntryPoint = "glfwCreateWindowSurface")] public static partial int CreateWindowSurface(nint instance, nint window, void* allocator, ulong* surface);
    [LibraryImport(Lib, EntryPoint = "glfwGetX11Display")] public static partial nint GetX11Display();
    [LibraryImport(Lib, EntryPoint = "glfwGetX11Window")] public static partial nuint GetX11Window(nint window);

    /// <summary>GLFW's last error as text ("no error" when there is none).</summary>
    public static string LastError()
    {
        byte* description = null;
        int code = GetError(&description);
        return code == 0 ? "no error" : $"0x{code:X} {Marshal.PtrToStringUTF8((nint)description)}";
    }
}
