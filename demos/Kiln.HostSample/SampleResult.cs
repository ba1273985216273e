namespace Kiln.HostSample;

/// <summary>What a run of the sample produced.</summary>
/// <param name="Files">Headless: the PNGs written, one per frame, the noisy render (left) beside Kiln's denoised frame (right). Windowed: none.</param>
/// <param name="ValidationMessages">
/// Validation warnings and errors (empty when validation was off or silent), collected until the instance was
/// destroyed, so objects left alive at vkDestroyDevice or vkDestroyInstance are reported here too.
/// </param>
/// <param name="Validation">Whether the validation layer was on.</param>
/// <param name="LastFrame">Headless: the last frame's images as read back, RGBA floats row by row: colour, albedo, normal, denoised. Windowed: none.</param>
public sealed record SampleResult(IReadOnlyList<string> Files, IReadOnlyList<string> ValidationMessages, bool Validation, float[][] LastFrame)
{
    /// <summary>Frames rendered (headless) or presented (windowed).</summary>
    public int FramesRendered { get; init; }
    /// <summary>Windowed: how many swapchains were made (1, plus one per resize).</summary>
    public int Swapchains { get; init; }
    /// <summary>Windowed: the render size of each presented frame (each half of the window).</summary>
    public IReadOnlyList<(int Width, int Height)> FrameSizes { get; init; } = Array.Empty<(int, int)>();
    /// <summary>Windowed with --screenshot: the PNG of the window after the last present.</summary>
    public string? Screenshot { get; init; }
}
