namespace Kiln.Realtime;

/// <summary>
/// One time the loop's CPU waited for a frame before reusing its slot: the frame it waited on, the newest frame
/// submitted at that moment, and whether that frame had already finished (no blocking).
/// </summary>
public readonly record struct FrameWait(int WaitedFrame, int NewestSubmitted, bool AlreadyComplete);
