using System.Runtime.InteropServices;
using Silk.NET.Core;
using Silk.NET.Core.Native;
using Silk.NET.Vulkan;

namespace Kiln.Vulkan;

/// <summary>
/// VK_EXT_debug_utils messenger: every validation warning or error is logged and kept, so that a test can
/// fail the one that caused it (<see cref="GpuContext.TakeValidationMessages"/>).
/// </summary>
internal sealed unsafe class ValidationMessenger : IDisposable
{
    readonly Vk vk;
    readonly Instance instance;
    readonly ExtDebugUtilsFunctions fn;
    readonly DebugUtilsMessengerEXT messenger;
    readonly GCHandle self;
    readonly Action<string> log;
    readonly List<string> messages = new();

    public ValidationMessenger(Vk vk, Instance instance, Action<string> log)
    {
        this.vk = vk;
        this.instance = instance;
        this.log = log;
        fn = new ExtDebugUtilsFunctions(vk, instance);
        self = GCHandle.Alloc(this);
        var info = CreateInfo(GCHandle.ToIntPtr(self));
        DebugUtilsMessengerEXT handle;
        VulkanException.Check(fn.Create(instance, &info, null, &handle), "vkCreateDebugUtilsMessengerEXT");
        messenger = handle;
    }

    /// <summary>The create-info also chained into vkCreateInstance so instance creation itself is validated.</summary>
    public static DebugUtilsMessengerCreateInfoEXT CreateInfo(nint userData) => new()
    {
        SType = StructureType.DebugUtilsMessengerCreateInfoExt,
        MessageSeverity = DebugUtilsMessageSeverityFlagsEXT.WarningBitExt | DebugUtilsMessageSeverityFlagsEXT.ErrorBitExt,
        MessageType = DebugUtilsMessageTypeFlagsEXT.GeneralBitExt | DebugUtilsMessageTypeFlagsEXT.ValidationBitExt |
                      DebugUtilsMessageTypeFlagsEXT.PerformanceBitExt,
        PfnUserCallback = new PfnDebugUtilsMessengerCallbackEXT(&Callback),
        PUserData = (void*)userData,
    };

    public List<string> Take()
    {
        lock (messages)
        {
            var copy = messages.ToList();
            messages.Clear();
            return copy;
        }
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(System.Runtime.CompilerServices.CallConvCdecl) })]
    static Bool32 Callback(DebugUtilsMessageSeverityFlagsEXT severity, DebugUtilsMessageTypeFlagsEXT type,
        DebugUtilsMessengerCallbackDataEXT* data, void* user)
    {
        var text = $"Vulkan validation ({severity}): {SilkMarshal.PtrToString((nint)data->PMessage)}";
        if (user != null && GCHandle.FromIntPtr((nint)user).Target is ValidationMessenger m)
        {
            lock (m.messages) m.messages.Add(text);
            m.log(text);
        }
        return new Bool32(false);
    }

    public void Dispose()
    {
        fn.Destroy(instance, messenger, null);
        self.Free();
    }

    /// <summary>The debug-utils entry points, loaded through vkGetInstanceProcAddr.</summary>
    sealed class ExtDebugUtilsFunctions
    {
        readonly delegate* unmanaged<Instance, DebugUtilsMessengerCreateInfoEXT*, AllocationCallbacks*, DebugUtilsMessengerEXT*, Result> create;
        readonly delegate* unmanaged<Instance, DebugUtilsMessengerEXT, AllocationCallbacks*, void> destroy;

        public ExtDebugUtilsFunctions(Vk vk, Instance instance)
        {
            create = (delegate* unmanaged<Instance, DebugUtilsMessengerCreateInfoEXT*, AllocationCallbacks*, DebugUtilsMessengerEXT*, Result>)
                InstanceProc(vk, instance, "vkCreateDebugUtilsMessengerEXT");
            destroy = (delegate* unmanaged<Instance, DebugUtilsMessengerEXT, AllocationCallbacks*, void>)
                InstanceProc(vk, instance, "vkDestroyDebugUtilsMessengerEXT");
        }

        public Result Create(Instance i, DebugUtilsMessengerCreateInfoEXT* info, AllocationCallbacks* a, DebugUtilsMessengerEXT* m) => create(i, info, a, m);
        public void Destroy(Instance i, DebugUtilsMessengerEXT m, AllocationCallbacks* a) => destroy(i, m, a);
    }

    internal static nint InstanceProc(Vk vk, Instance instance, string name)
    {
        var p = (nint)vk.GetInstanceProcAddr(instance, name);
        if (p == 0) throw new KilnException($"The Vulkan loader has no {name}: is the extension enabled on the instance?");
        return p;
    }
}
