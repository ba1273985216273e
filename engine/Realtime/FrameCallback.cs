namespace Kiln.Realtime;

/// <summary>Sees a completed frame (its pixels are valid only during the call).</summary>
public delegate void FrameCallback(CompletedFrame frame);
