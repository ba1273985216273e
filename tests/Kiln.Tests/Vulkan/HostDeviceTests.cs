using System.Runtime.InteropServices;
using NUnit.Framework;
using Silk.NET.Core;
using Silk.NET.Core.Native;
using Silk.NET.Vulkan;

namespace Kiln.Tests.Vulkan;

/// <summary>
/// A host application (a game engine, a renderer) as Kiln's embedding path meets it: its own Vulkan 1.2
/// instance (with the validation layer, synchronization validation and debug utils), device, queue, command
/// pool, command buffers and fences, made with raw Silk.NET. The host's own debug messenger stays alive
/// until its instance is destroyed, so leaks reported at vkDestroyDevice are caught too.
/// </summary>
internal sealed unsafe class HostApp : IDisposable
{
    public readonly Vk Vk;
    public readonly Instance Instance;
    public readonly PhysicalDevice PhysicalDevice;
    public readonly uint QueueFamily;
    public readonly Device Device;
    public readonly Queue Queue;
    public readonly CommandPool Pool;
    public readonly CommandBuffer[] Commands;
    public readonly Fence[] Fences;
    readonly DebugUtilsMessengerEXT messenger;
    readonly GCHandle self;
    readonly List<string> messages = new();
    readonly delegate* unmanaged<Instance, DebugUtilsMessengerEXT, AllocationCallbacks*, void> destroyMessenger;

    public HostApp(int frames)
    {
        Vk = Vk.GetApi();
        self = GCHandle.Alloc(this);
        var layers = new[] { "VK_LAYER_KHRONOS_validation" };
        var extensions = new[] { "VK_EXT_debug_utils", "VK_EXT_validation_features" };
        var name = (byte*)SilkMarshal.StringToPtr("Kiln host test");
        var layerPtrs = (byte**)SilkMarshal.StringArrayToPtr(layers);
        var extPtrs = (byte**)SilkMarshal.StringArrayToPtr(extensions);
        try
        {
            var app = new ApplicationInfo { SType = StructureType.ApplicationInfo, PApplicationName = name, PEngineName = name, ApiVersion = Vk.Version12 };
            var enables = stackalloc ValidationFeatureEnableEXT[] { ValidationFeatureEnableEXT.SynchronizationValidationExt };
            var messengerInfo = MessengerInfo();
            var features = new ValidationFeaturesEXT
            {
                SType = StructureType.ValidationFeaturesExt,
                EnabledValidationFeatureCount = 1,
                PEnabledValidationFeatures = enables,
                PNext = &messengerInfo, // instance creation and destruction are validated too
            };
            var info = new InstanceCreateInfo
            {
                SType = StructureType.InstanceCreateInfo,
                PNext = &features,
                PApplicationInfo = &app,
                EnabledLayerCount = (uint)layers.Length,
                PpEnabledLayerNames = layerPtrs,
                EnabledExtensionCount = (uint)extensions.Length,
                PpEnabledExtensionNames = extPtrs,
            };
            Instance instance;
            Check(Vk.CreateInstance(&info, null, &instance), "vkCreateInstance");
            Instance = instance;
            Vk.CurrentInstance = instance;
            var create = (delegate* unmanaged<Instance, DebugUtilsMessengerCreateInfoEXT*, AllocationCallbacks*, DebugUtilsMessengerEXT*, Result>)
                (nint)Vk.GetInstanceProcAddr(instance, "vkCreateDebugUtilsMessengerEXT");
            destroyMessenger = (delegate* unmanaged<Instance, DebugUtilsMessengerEXT, AllocationCallbacks*, void>)
                (nint)Vk.GetInstanceProcAddr(instance, "vkDestroyDebugUtilsMessengerEXT");
            DebugUtilsMessengerEXT m;
            Check(create(instance, &messengerInfo, null, &m), "vkCreateDebugUtilsMessengerEXT");
            messenger = m;
        }
        finally
        {
            SilkMarshal.Free((nint)name);
            SilkMarshal.Free((nint)layerPtrs);
            SilkMarshal.Free((nint)extPtrs);
        }

        // The device Kiln's own tests run on.
        uint count = 0;
        Vk.EnumeratePhysicalDevices(Instance, &count, null);
        var pds = new PhysicalDevice[count];
        fixed (PhysicalDevice* p = pds) Check(Vk.EnumeratePhysicalDevices(Instance, &count, p), "vkEnumeratePhysicalDevices");
        PhysicalDevice = pds[Gpu.Context.Info.Index];

        uint families = 0;
        Vk.GetPhysicalDeviceQueueFamilyProperties(PhysicalDevice, &families, null);
        var props = new QueueFamilyProperties[families];
        fixed (QueueFamilyProperties* p = props) Vk.GetPhysicalDeviceQueueFamilyProperties(PhysicalDevice, &families, p);
        QueueFamily = (uint)Array.FindIndex(props, f => (f.QueueFlags & QueueFlags.ComputeBit) != 0);
        Assert.That((int)QueueFamily, Is.GreaterThanOrEqualTo(0), "a compute queue family");

        float priority = 1;
        var queueInfo = new DeviceQueueCreateInfo { SType = StructureType.DeviceQueueCreateInfo, QueueFamilyIndex = QueueFamily, QueueCount = 1, PQueuePriorities = &priority };
        var deviceInfo = new DeviceCreateInfo { SType = StructureType.DeviceCreateInfo, QueueCreateInfoCount = 1, PQueueCreateInfos = &queueInfo };
        Device device;
        Check(Vk.CreateDevice(PhysicalDevice, &deviceInfo, null, &device), "vkCreateDevice");
        Device = device;
        Vk.CurrentDevice = device;
        Queue queue;
        Vk.GetDeviceQueue(Device, QueueFamily, 0, &queue);
        Queue = queue;

        var poolInfo = new CommandPoolCreateInfo { SType = StructureType.CommandPoolCreateInfo, QueueFamilyIndex = QueueFamily, Flags = CommandPoolCreateFlags.ResetCommandBufferBit };
        CommandPool pool;
        Check(Vk.CreateCommandPool(Device, &poolInfo, null, &pool), "vkCreateCommandPool");
        Pool = pool;
        Commands = new CommandBuffer[frames];
        var alloc = new CommandBufferAllocateInfo { SType = StructureType.CommandBufferAllocateInfo, CommandPool = Pool, Level = CommandBufferLevel.Primary, CommandBufferCount = (uint)frames };
        fixed (CommandBuffer* p = Commands) Check(Vk.AllocateCommandBuffers(Device, &alloc, p), "vkAllocateCommandBuffers");
        Fences = new Fence[frames];
        for (int i = 0; i < frames; i++)
        {
            var fenceInfo = new FenceCreateInfo { SType = StructureType.FenceCreateInfo };
            Fence f;
            Check(Vk.CreateFence(Device, &fenceInfo, null, &f), "vkCreateFence");
            Fences[i] = f;
        }
    }

    public HostDevice Handles => new(Instance.Handle, PhysicalDevice.Handle, Device.Handle, QueueFamily, Queue.Handle);

    /// <summary>What the validation layer told the host's own messenger.</summary>
    public List<string> Messages
    {
        get { lock (messages) return messages.ToList(); }
    }

    public void Begin(int frame)
    {
        Check(Vk.ResetCommandBuffer(Commands[frame], 0), "vkResetCommandBuffer");
        var begin = new CommandBufferBeginInfo { SType = StructureType.CommandBufferBeginInfo, Flags = CommandBufferUsageFlags.OneTimeSubmitBit };
        Check(Vk.BeginCommandBuffer(Commands[frame], &begin), "vkBeginCommandBuffer");
    }

    /// <summary>Ends the frame's command buffer and submits it with the frame's fence.</summary>
    public void EndAndSubmit(int frame)
    {
        End(frame);
        var cmd = Commands[frame];
        var submit = new SubmitInfo { SType = StructureType.SubmitInfo, CommandBufferCount = 1, PCommandBuffers = &cmd };
        Check(Vk.QueueSubmit(Queue, 1, &submit, Fences[frame]), "vkQueueSubmit");
    }

    public void End(int frame) => Check(Vk.EndCommandBuffer(Commands[frame]), "vkEndCommandBuffer");

    public void Wait(int frame)
    {
        var f = Fences[frame];
        Check(Vk.WaitForFences(Device, 1, &f, true, 30_000_000_000UL), "vkWaitForFences");
        Check(Vk.ResetFences(Device, 1, &f), "vkResetFences");
    }

    public Result DeviceWaitIdle() => Vk.DeviceWaitIdle(Device);

    public void Dispose()
    {
        Vk.DeviceWaitIdle(Device);
        foreach (var f in Fences) Vk.DestroyFence(Device, f, null);
        Vk.DestroyCommandPool(Device, Pool, null);
        Vk.DestroyDevice(Device, null);
        destroyMessenger(Instance, messenger, null);
        Vk.DestroyInstance(Instance, null);
        Vk.Dispose();
        self.Free();
    }

    static void Check(Result r, string call)
    {
        if (r != Result.Success) throw new InvalidOperationException($"host: {call} failed with {r}");
    }

    DebugUtilsMessengerCreateInfoEXT MessengerInfo() => new()
    {
        SType = StructureType.DebugUtilsMessengerCreateInfoExt,
        MessageSeverity = DebugUtilsMessageSeverityFlagsEXT.WarningBitExt | DebugUtilsMessageSeverityFlagsEXT.ErrorBitExt,
        MessageType = DebugUtilsMessageTypeFlagsEXT.GeneralBitExt | DebugUtilsMessageTypeFlagsEXT.ValidationBitExt | DebugUtilsMessageTypeFlagsEXT.PerformanceBitExt,
        PfnUserCallback = new PfnDebugUtilsMessengerCallbackEXT(&Callback),
        PUserData = (void*)GCHandle.ToIntPtr(self),
    };

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(System.Runtime.CompilerServices.CallConvCdecl) })]
    static Bool32 Callback(DebugUtilsMessageSeverityFlagsEXT severity, DebugUtilsMessageTypeFlagsEXT type, DebugUtilsMessengerCallbackDataEXT* data, void* user)
    {
        var text = $"host validation ({severity}): {SilkMarshal.PtrToString((nint)data->PMessage)}";
        if (user != null && GCHandle.FromIntPtr((nint)user).Target is HostApp h)
            lock (h.messages) h.messages.Add(text);
        TestContext.Progress.WriteLine(text);
        return new Bool32(false);
    }
}

/// <summary>
/// Kiln adopted by a host: Kiln records into the host's command buffers, the host submits and tells Kiln when
/// the GPU is done, and Kiln leaves the host's device exactly as it found it.
/// </summary>
public sealed class HostDeviceTests
{
    static readonly ConvCase C = ConvKernel.Golden;

    static GpuContext Adopt(HostApp host) => GpuContext.Adopt(host.Handles, Gpu.Options with { PipelineCacheDirectory = "" });

    [Test]
    public void AdoptingNullHandles_Throws()
    {
        Assert.Throws<ArgumentException>(() => GpuContext.Adopt(default));
        Assert.Throws<ArgumentException>(() => GpuContext.Adopt(new HostDevice(1, 1, 0, 0, 1)));
    }

    [Test]
    public void GoldenConvRecordedIntoTheHostsCommandBuffer_IsExact_AndTheHostDeviceOutlivesKiln()
    {
        var host = new HostApp(frames: 1);
        try
        {
            var ctx = Adopt(host);
            Assert.That(ctx.IsAdopted, Is.True);
            Assert.That(ctx.ValidationEnabled, Is.True, "the host's instance has debug utils, so Kiln listens too");
            Assert.That(ctx.Info.Index, Is.EqualTo(Gpu.Context.Info.Index));
            try
            {
                using (var x = Tensor.From(ctx, C.XShape, ConvKernel.GoldenX, "x"))
                using (var w = Tensor.From(ctx, C.WShape, ConvKernel.GoldenW, "w"))
                using (var b = Tensor.From(ctx, new Shape(1), new[] { 100f }, "bias"))
                using (var y = new Tensor(ctx, C.YShape, name: "y"))
                {
                    host.Begin(0);
                    var frame = ctx.WrapHostCommandBuffer(host.Commands[0].Handle);
                    ConvKernel.Record(frame.Recorder, C, x, w, b, y);
                    Assert.That(frame.DispatchCount, Is.EqualTo(1));
                    frame.Submitted();
                    Assert.Throws<InvalidOperationException>(() => ConvKernel.Record(frame.Recorder, C, x, w, b, y), "recording after Submitted()");
                    host.EndAndSubmit(0);
                    host.Wait(0);
                    frame.Completed();
                    Assert.That(y.ToArray(), Is.EqualTo(ConvKernel.GoldenY));

                    // Kiln's own command lists use the host's queue.
                    y.Upload(new float[9]);
                    using (var list = ctx.CreateCommandList())
                    {
                        ConvKernel.Record(list.Recorder, C, x, w, b, y, bakeShapes: false);
                        list.Run();
                    }
                    Assert.That(y.ToArray(), Is.EqualTo(ConvKernel.GoldenY));
                }
                Assert.That(ctx.AllocatedBytes, Is.Zero);
                Assert.That(ctx.LiveObjects(), Is.Empty, "everything Kiln made on the host's device is gone before the context is");
                Assert.That(ctx.TakeValidationMessages(), Is.Empty);
            }
            finally { ctx.Dispose(); }

            // The host's device, queue and command buffers are untouched.
            Assert.That(host.DeviceWaitIdle(), Is.EqualTo(Result.Success));
            host.Begin(0);
            host.EndAndSubmit(0);
            host.Wait(0);
            Assert.That(host.Messages, Is.Empty, "validation while Kiln was adopted and after");
        }
        finally { host.Dispose(); }
        Assert.That(host.Messages, Is.Empty, "vkDestroyDevice reports any object Kiln left on the host's device");
    }

    [Test]
    public void TwoFramesInFlight_CompletedInTheOtherOrder_ReleaseEverything_AndFreeDisposedTensorsOnlyWhenDone()
    {
        var host = new HostApp(frames: 2);
        try
        {
            var ctx = Adopt(host);
            try
            {
                RunTwoFrames(host, ctx);
                Assert.That(ctx.AllocatedBytes, Is.Zero);
                Assert.That(ctx.LiveObjects(), Is.Empty, "every descriptor pool and buffer range was released");
                Assert.That(ctx.TakeValidationMessages(), Is.Empty);
            }
            finally { ctx.Dispose(); }
            Assert.That(host.DeviceWaitIdle(), Is.EqualTo(Result.Success));
            Assert.That(host.Messages, Is.Empty);
        }
        finally { host.Dispose(); }
        Assert.That(host.Messages, Is.Empty, "vkDestroyDevice reports any object Kiln left on the host's device");
    }

    [Test]
    public void ATensorDisposedBetweenRecordingAndSubmitted_MakesSubmittedThrow_AndTheAbandonedFrameLeaksNothing()
    {
        var host = new HostApp(frames: 1);
        try
        {
            var ctx = Adopt(host);
            try
            {
                using (var x = Tensor.From(ctx, C.XShape, ConvKernel.GoldenX, "x"))
                using (var w = Tensor.From(ctx, C.WShape, ConvKernel.GoldenW, "w"))
                {
                    var y = new Tensor(ctx, C.YShape, name: "disposed too early");
                    host.Begin(0);
                    var frame = ctx.WrapHostCommandBuffer(host.Commands[0].Handle);
                    ConvKernel.Record(frame.Recorder, C, x, w, w, y);
                    y.Dispose();
                    var e = Assert.Throws<ObjectDisposedException>(frame.Submitted);
                    Assert.That(e!.Message, Does.Contain("disposed too early"));
                    // The host gives the frame up instead of submitting it, and says so.
                    host.End(0);
                    frame.Completed();
                }
                Assert.That(ctx.AllocatedBytes, Is.Zero, "no use count was left behind by the failed Submitted()");
                Assert.That(ctx.LiveObjects(), Is.Empty, "the frame's descriptor pool is gone too");
                Assert.That(ctx.TakeValidationMessages(), Is.Empty);
            }
            finally { ctx.Dispose(); }
            host.Begin(0);
            host.EndAndSubmit(0);
            host.Wait(0);
        }
        finally { host.Dispose(); }
        Assert.That(host.Messages, Is.Empty, "vkDestroyDevice reports any object Kiln left on the host's device");
    }

    static bool Lists(GpuContext ctx, string what) => ctx.LiveObjects().Any(o => o.Contains(what));

    static void RunTwoFrames(HostApp host, GpuContext ctx)
    {
        var x = Tensor.From(ctx, C.XShape, ConvKernel.GoldenX, "x (both frames)");
        using var w1 = Tensor.From(ctx, C.WShape, ConvKernel.GoldenW, "w1");
        var w2 = Tensor.From(ctx, C.WShape, ConvKernel.GoldenW.Select(v => 2 * v).ToArray(), "w2 (frame 2)");
        using var b = Tensor.From(ctx, new Shape(1), new[] { 0f }, "bias");
        using var y1 = new Tensor(ctx, C.YShape, name: "y1");
        using var y2 = new Tensor(ctx, C.YShape, name: "y2");
        long xBytes = (long)x.Storage.Size, w2Bytes = (long)w2.Storage.Size;

        host.Begin(0);
        var frame1 = ctx.WrapHostCommandBuffer(host.Commands[0].Handle);
        ConvKernel.Record(frame1.Recorder, C, x, w1, b, y1);
        frame1.Submitted();
        host.EndAndSubmit(0);

        host.Begin(1);
        var frame2 = ctx.WrapHostCommandBuffer(host.Commands[1].Handle);
        ConvKernel.Record(frame2.Recorder, C, x, w2, b, y2, bakeShapes: false);
        frame2.Submitted();
        host.EndAndSubmit(1);

        // Disposed while both frames are pending: nothing is freed yet.
        long before = ctx.AllocatedBytes;
        x.Dispose();
        w2.Dispose();
        Assert.That(x.IsDisposed && w2.IsDisposed, Is.True);
        Assert.That(ctx.AllocatedBytes, Is.EqualTo(before), "freeing waits for the frames that use them");
        Assert.That(Lists(ctx, "x (both frames)") && Lists(ctx, "w2 (frame 2)"), Is.True, "both still in LiveObjects");

        // Frame 2 completes first: w2 (only frame 2's) goes; x is still frame 1's.
        host.Wait(1);
        Assert.That(ctx.AllocatedBytes, Is.EqualTo(before), "Kiln can't see the host's fence: only Completed() frees");
        frame2.Completed();
        Assert.That(ctx.AllocatedBytes, Is.EqualTo(before - w2Bytes));
        Assert.That(Lists(ctx, "w2 (frame 2)"), Is.False);
        Assert.That(Lists(ctx, "x (both frames)"), Is.True);
        Assert.That(y2.ToArray(), Is.EqualTo(ConvKernel.GoldenY.Select(v => 2 * v).ToArray()));

        host.Wait(0);
        frame1.Completed();
        Assert.That(ctx.AllocatedBytes, Is.EqualTo(before - w2Bytes - xBytes));
        Assert.That(Lists(ctx, "x (both frames)"), Is.False);
        Assert.That(y1.ToArray(), Is.EqualTo(ConvKernel.GoldenY));
        Assert.DoesNotThrow(frame1.Completed, "Completed twice is harmless");
    }
}
