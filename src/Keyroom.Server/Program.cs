using Keyroom.Server.Hosting;

return await KeyroomHost.RunAsync(args);

/// <summary>The server's entry point (public so test hosts can name it).</summary>
public partial class Program;
