using System.Runtime.InteropServices;

namespace Kiln.HostSample;

/// <summary>
/// A screenshot of a window as the X server shows it: XGetImage on the window (libX11 through P/Invoke), each
/// pixel decoded with the image's colour masks. After presenting, this is what reached the screen, not a copy
/// of the sample's own image.
/// </summary>
internal static unsafe partial class X11Screenshot
{
    const string Lib = "libX11.so.6";
    const int ZPixmap = 2;

    /// <summary>The head of Xlib's XImage, up to the colour masks (the layout of Xlib.h on LP64).</summary>
    [StructLayout(LayoutKind.Sequential)]
    struct XImage
    {
        public int Width, Height, XOffset, Format;
        public nint Data;
        public int ByteOrder, BitmapUnit, BitmapBitOrder, BitmapPad, Depth, BytesPerLine, BitsPerPixel;
        public nuint RedMask, GreenMask, BlueMask;
    }

    [LibraryImport(Lib, EntryPoint = "XSync")] private static partial int XSync(nint display, int discard);
    [LibraryImport(Lib, EntryPoint = "XGetImage")] private static partial XImage* XGetImage(nint display, nuint drawable, int x, int y, uint width, uint height, nuint planeMask, int format);
    [LibraryImport(Lib, EntryPoint = "XGetPixel")] private static partial nuint XGetPixel(XImage* image, int x, int y);
    [LibraryImport(Lib, EntryPoint = "XDestroyImage")] private static partial int XDestroyImage(XImage* image);

    /// <summary>The window's <paramref name="width"/> x <paramref name="height"/> pixels as RGB planes (CHW, 0..1).</summary>
    public static float[] Grab(nint display, nuint window, int width, int height)
    {
        XSync(display, 0); // everything sent before (the presented image) has reached the server
        var image = XGetImage(display, window, 0, 0, (uint)width, (uint)height, ~(nuint)0, ZPixmap);
        if (image == null) throw new InvalidOperationException($"host sample: XGetImage of the {width}x{height} window failed.");
        try
        {
            var masks = new[] { image->RedMask, image->GreenMask, image->BlueMask };
            if (masks.Any(m => m == 0)) throw new InvalidOperationException($"host sample: the window's visual has no colour masks (depth {image->Depth}).");
            int n = width * height;
            var chw = new float[3 * n];
            for (int y = 0; y < height; y++)
                for (int x = 0; x < width; x++)
                {
                    var pixel = XGetPixel(image, x, y);
                    for (int c = 0; c < 3; c++) chw[c * n + y * width + x] = Channel(pixel, masks[c]);
                }
            return chw;
        }
        finally { XDestroyImage(image); }
    }

    static float Channel(nuint pixel, nuint mask)
    {
        int shift = System.Numerics.BitOperations.TrailingZeroCount((ulong)mask);
        ulong max = (ulong)mask >> shift;
        return (float)(((ulong)(pixel & mask) >> shift) / (double)max);
    }
}
