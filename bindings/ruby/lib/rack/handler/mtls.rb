# frozen_string_literal: true

require "rack/handler"
require_relative "../../mtls/rack_server"

module Rack
  module Handler
    # Rack's handler for MTLS::RackServer: any Rack app over mTLS, with the
    # client's identity in the env under mod_ssl's names.
    #
    #   rackup -s mtls -O cert=server.crt -O key=server.key -O ca_file=ca.crt \
    #          -O verify_mode=required -O allow_cn=billing,reports -O threads=0:5
    #
    #   Rack::Handler::MTLS.run(app, Host: "0.0.0.0", Port: 8443,
    #                           cert: "server.crt", key: "server.key",
    #                           ca_file: "ca.crt", allow: { cn: ["billing"] })
    #
    # run yields the MTLS::RackServer (#port, #stop, #stats) and returns
    # when it has stopped: on the main thread, SIGTERM, SIGINT and SIGQUIT
    # stop it gracefully (a second one at once).
    module MTLS
      # -O options, as rackup -s mtls -h lists them.  Lists are comma
      # separated; every file option is checked before the server starts.
      OPTIONS = {
        "cert=FILE" => "server certificate chain, PEM (may hold the key too)",
        "key=FILE" => "server private key, PEM",
        "password_file=FILE" => "passphrase of an encrypted key or of p12 (first line)",
        "p12=FILE" => "certificate and key as PKCS#12, instead of cert and key",
        "ca_file=FILE" => "CAs whose client certificates are accepted, PEM",
        "ca_path=DIR" => "a hashed directory of such CAs",
        "crl_file=FILE" => "CRLs of those CAs, PEM",
        "verify_mode=MODE" => "required (default), optional or optional_no_ca",
        "allow_cn=LIST" => "only clients with one of these common names (* wildcards)",
        "allow_ou=LIST" => "only clients with one of these organizational units",
        "allow_dns=LIST" => "only clients with one of these DNS names",
        "allow_uri=LIST" => "only clients with one of these URIs (SPIFFE IDs, * wildcards)",
        "allow_ip=LIST" => "only clients with one of these IP addresses",
        "allow_spki=LIST" => "only clients with one of these SPKI SHA-256 pins (hex)",
        "min_version=TLS1_2|TLS1_3" => "lowest TLS version (default TLS1_2)",
        "proxy_protocol=true|LIST" => "behind a load balancer sending the PROXY protocol " \
                                      "(HAProxy's send-proxy-v2): REMOTE_ADDR is its client; " \
                                      "true trusts loopback, or a list of sources (10.0.0.0/8,...)",
        "threads=MIN:MAX" => "threads (default 0:5, as Puma 5; N is N:N)",
        "max_body=BYTES" => "largest request body (default 0: no limit, as Puma)",
        "persistent_timeout=SECONDS" => "idle keep-alive connections closed after (default 20)",
        "first_data_timeout=SECONDS" => "a request head must arrive within (default 30)",
        "io_timeout=SECONDS" => "each read of a body and write of a response (default 60)",
        "shutdown_timeout=SECONDS" => "wait for requests under way at stop (default 30)",
        "Silent" => "no startup lines"
      }.freeze

      FILES = { cert: :file, key: :file, password_file: :file, p12: :file,
                ca_file: :file, ca_path: :directory, crl_file: :file }.freeze
      ALLOW = { allow_cn: :cn, allow_ou: :ou, allow_dns: :dns, allow_uri: :uri,
                allow_ip: :ip, allow_spki: :spki }.freeze
      SERVER = %i[shutdown_timeout errors on_error backlog].freeze
      CONTEXT = %i[cert key password p12 ca_file ca_path crl_file verify_mode
                   min_version max_version ciphers ciphersuites groups allow
                   handshake_timeout io_timeout session_cache verify
                   proxy_protocol].freeze
      OURS = (FILES.keys + ALLOW.keys + SERVER + CONTEXT +
              %i[context threads Threads min_threads max_threads max_body
                 persistent_timeout first_data_timeout Silent Verbose traps]).uniq.freeze
      # What rackup passes besides (Rack::Server's own options).
      RACKUP = %i[Host Port environment config pid daemonize debug warn include
                  require builder server AccessLog quiet heapfile profile_file
                  profile_mode app user_supplied_options].freeze

      class << self
        def run(app, **options)
          server = server(app, options)
          @server = server
          announce(server, options) unless options[:Silent] || options[:quiet]
          traps = trap_signals(server) if options.fetch(:traps, true) && Thread.current == Thread.main
          yield server if block_given?
          server.run
        ensure
          traps&.each { |sig, old| trap(sig, old) }
          @server = nil
        end

        # Stops the server run started (rackup calls it on SIGINT).
        def shutdown
          @server&.stop
        end

        def valid_options
          { "Host=HOST" => "Hostname to listen on (default: localhost)",
            "Port=PORT" => "Port to listen on (default: 8080)" }.merge(OPTIONS)
        end

        # The MTLS::RackServer of these options (listening already).
        def server(app, options)
          unknown = options.keys - OURS - RACKUP
          unless unknown.empty?
            raise ArgumentError, "Rack::Handler::MTLS: unknown option(s) " \
              "#{unknown.join(', ')}; the handler's: #{OPTIONS.keys.map { |k| k[/\A\w+/] }.join(', ')}"
          end
          min, max = threads(options)
          check_files(options) unless options[:context]
          extra = options.slice(*SERVER)
          extra[:errors] ||= $stderr
          ::MTLS::RackServer.new(app, context: options[:context] || context(options),
                                      host: options[:Host] || "localhost",
                                      port: Integer(options[:Port] || 8080),
                                      min_threads: min, max_threads: max, **extra)
        end

        private

        # The MTLS::Context of the options, each file checked first, and
        # any error of libmtls told with the option that named the file.
        def context(options)
          ctx = options.slice(*CONTEXT)
          ctx[:verify_mode] = ctx[:verify_mode].to_sym if ctx[:verify_mode].is_a?(String)
          ctx[:min_version] = ctx[:min_version].to_sym if ctx[:min_version].is_a?(String)
          ctx[:password] ||= ::File.read(options[:password_file]).lines.first.to_s.chomp if options[:password_file]
          allow = allow_lists(options)
          ctx[:allow] = allow unless allow.empty?
          # Puma's: no body limit, 20 s between requests, 30 s for the
          # first data; nginx's send_timeout, 60 s, for each write.
          ctx[:http_limits] = { max_body: number(:max_body, options.fetch(:max_body, 0)),
                                idle_timeout: seconds(:persistent_timeout, options.fetch(:persistent_timeout, 20)),
                                header_timeout: seconds(:first_data_timeout, options.fetch(:first_data_timeout, 30)) }
          ctx[:io_timeout] ||= 60
          %i[io_timeout handshake_timeout].each { |k| ctx[k] = seconds(k, ctx[k]) if ctx[k] }
          ctx[:session_cache] = number(:session_cache, ctx[:session_cache]) if ctx[:session_cache]
          # rackup -O proxy_protocol=true, or =10.0.0.0/8,fd00::/8
          ctx[:proxy_protocol] = true if ["true", "on", "1"].include?(ctx[:proxy_protocol])
          ctx.delete(:proxy_protocol) if ["false", "off", "0", false].include?(ctx[:proxy_protocol])
          need_identity(ctx)
          ::MTLS::Context.new(**ctx)
        rescue ::MTLS::Error => e
          option = FILES.keys.find { |k| options[k] && e.message.include?(options[k].to_s) }
          raise ::MTLS::ConfigError.new("Rack::Handler::MTLS: " \
                                        "#{option ? "#{option}=#{options[option]}: " : ''}#{e.message}",
                                        code: e.code)
        end

        def check_files(options)
          FILES.each do |name, kind|
            path = options[name] or next
            next unless path.is_a?(String)

            ok = kind == :directory ? ::File.directory?(path) : ::File.file?(path) && ::File.readable?(path)
            next if ok

            why = ::File.exist?(path) ? "not a readable #{kind}" : "no such #{kind}"
            raise ::MTLS::ConfigError.new("Rack::Handler::MTLS: #{name}=#{path}: #{why}",
                                          code: ::MTLS::CODES[:FILE])
          end
        end

        def need_identity(ctx)
          unless ctx[:cert] || ctx[:p12]
            raise ArgumentError, "Rack::Handler::MTLS needs the server's certificate: " \
                                 "-O cert=server.crt -O key=server.key (or -O p12=server.p12)"
          end
          return if ctx[:ca_file] || ctx[:ca_path] ||
                    %i[optional_no_ca insecure_none].include?(ctx[:verify_mode])

          raise ArgumentError, "Rack::Handler::MTLS needs the CA of the client certificates: " \
                               "-O ca_file=ca.crt (or -O verify_mode=optional_no_ca to take any)"
        end

        def allow_lists(options)
          allow = (options[:allow] || {}).to_h { |k, v| [k.to_sym, Array(v)] }
          ALLOW.each do |option, kind|
            value = options[option] or next
            list = value.is_a?(Array) ? value : value.to_s.split(",").map(&:strip)
            allow[kind] = Array(allow[kind]) + list
          end
          allow
        end

        # [min, max] of threads: "MIN:MAX", "N" (N:N, as Puma's -t),
        # min_threads:/max_threads:, or Puma's defaults 0:5.
        def threads(options)
          spec = options[:threads] || options[:Threads]
          if spec.is_a?(String) || spec.is_a?(Integer)
            min, max = spec.to_s.split(":", 2)
            max ||= min
          elsif spec.is_a?(Array)
            min, max = spec
          end
          min = options.fetch(:min_threads, min || 0)
          max = options.fetch(:max_threads, max || 5)
          [number(:threads, min), number(:threads, max)]
        end

        def number(name, value)
          Integer(value)
        rescue ArgumentError, TypeError
          raise ArgumentError, "Rack::Handler::MTLS: #{name}=#{value}: not a whole number"
        end

        def seconds(name, value)
          Float(value)
        rescue ArgumentError, TypeError
          raise ArgumentError, "Rack::Handler::MTLS: #{name}=#{value}: not a number of seconds"
        end

        def announce(server, options)
          mode = options[:verify_mode] || (options[:context] ? "as the context says" : "required")
          $stdout.puts "Rack::Handler::MTLS (mtls-ruby #{::MTLS::VERSION}): threads " \
                       "#{server.min_threads}:#{server.max_threads}, client certificates #{mode}"
          address = server.address
          $stdout.puts "listening on #{address.include?(':') ? "[#{address}]" : address}:#{server.port}"
          $stdout.flush
        end

        def trap_signals(server)
          %w[TERM INT QUIT].to_h { |sig| [sig, trap(sig) { server.stop }] }
        end
      end
    end

    register :mtls, "Rack::Handler::MTLS"
  end
end
