# frozen_string_literal: true

module MTLS
  # What a connection needs to know: our certificate and key, the CAs we
  # trust, who may connect.  Built once, then frozen: one Context serves any
  # number of connections and threads (it wraps one struct mtls_config).
  #
  #   ctx = MTLS::Context.new(cert: "client.crt", key: "client.key",
  #                           ca_file: "ca.crt")
  #
  # cert: and key: take a path, PEM text, or an object with #to_pem (an
  # OpenSSL::X509::Certificate, an OpenSSL::PKey); key: may be omitted when
  # cert: holds both (`cat client.crt client.key > combined.pem`).  p12: is
  # a PKCS#12 path or its bytes (or an OpenSSL::PKCS12).  password: decrypts
  # the key or the PKCS#12 file.  A key (or certificate) in a token is a
  # pkcs11: URI, handed to the library as a path is (key:
  # "pkcs11:token=hsm;object=web-key", password: the PIN).
  #
  # proxy_protocol: a server behind a load balancer that sends the PROXY
  # protocol (HAProxy's send-proxy-v2, nginx's proxy_protocol): true trusts
  # loopback only; a list (an Array, or a String separated by commas) names
  # the trusted sources ("10.0.0.0/8", "fd00::/8").  Connections must then
  # begin with a header from one of them; the client it names is the
  # Rack env's REMOTE_ADDR and Connection#peer_address.
  #
  # watch: SECONDS (1, 0.25) reloads the certificate, key, CA and CRL files
  # when they change (an agent renewing them): each new connection made
  # from the context uses the files of the moment, checked at most once in
  # SECONDS; a set that does not work (a key not written yet, a broken
  # file) is retried, then refused and the last good one kept.  See
  # mtls_config_watch_files(3) and #reload_counts.
  class Context
    OPTIONS = %i[cert key password p12 ca_file ca_path ca system_ca verify_mode
                 min_version max_version ciphers ciphersuites groups
                 allow verify alpn connect_timeout
                 handshake_timeout io_timeout write_timeout verify_depth crl_file
                 session_cache http_limits proxy_protocol watch].freeze

    attr_reader :options, :warnings

    def initialize(**options)
      unknown = options.keys - OPTIONS
      raise ArgumentError, "unknown MTLS::Context option(s): #{unknown.join(', ')}" \
        unless unknown.empty?

      @options = options.freeze
      ptr = Native.mtls_config_new
      raise NoMemoryError, "mtls_config_new failed" if ptr.null?

      @cfg = FFI::AutoPointer.new(ptr, Native.method(:mtls_config_free))
      @derived = {}
      @derived_lock = Mutex.new
      configure(options)
      @warnings = collect_warnings.freeze
      freeze
    end

    # The struct mtls_config pointer (for the other classes of the binding).
    def to_ptr
      @cfg
    end

    # This context with other connect/handshake, read and write timeouts
    # (seconds, 0 for none; nil keeps this context's), for MTLS::HTTP's
    # open_timeout, read_timeout and write_timeout.  libmtls keeps
    # timeouts in the config, so this is a second config, made once and
    # kept.
    def with_timeouts(open: nil, read: nil, write: nil)
      return self if open.nil? && read.nil? && write.nil?

      key = [open, read, write]
      @derived_lock.synchronize do
        @derived[key] ||= begin
          extra = {}
          extra[:connect_timeout] = extra[:handshake_timeout] = open if open
          extra[:io_timeout] = read if read
          extra[:write_timeout] = write if write
          Context.new(**@options, **extra)
        end
      end
    end

    # With watch:, the reloads so far: { ok: reloads that took effect,
    # failed: sets of files refused (each once) }; nil without watch:.
    def reload_counts
      counts = FFI::MemoryPointer.new(:ulong, 2)
      return nil if Native.mtls_config_reload_counts(@cfg, counts, counts + counts.type_size) != 0

      ok, failed = counts.read_array_of_ulong(2)
      { ok: ok, failed: failed }
    end

    def inspect
      "#<MTLS::Context #{@options.slice(:cert, :p12, :ca_file, :ca_path).inspect}>"
    end

    # Runs a verify callback for libmtls: never lets an exception (or a
    # throw) unwind into C.  Anything but a normal truthy return refuses
    # the peer; an exception is kept and re-raised to the caller once the
    # libmtls call returns (see MTLS.blocking).
    def self.run_verify(callable, conn, reason, reason_size)
      done = false
      begin
        accepted = callable.call(Peer.new(conn))
        write_reason(reason, reason_size, "refused by the Ruby verify callback") \
          unless accepted
        done = true
        accepted ? 1 : 0
      rescue Exception => e # rubocop:disable Lint/RescueException
        Thread.current[:mtls_callback_error] ||= e
        write_reason(reason, reason_size,
                     "the Ruby verify callback raised #{e.class}: #{e.message}")
        done = true
        0
      ensure
        unless done
          # A throw or break out of the callback: stop it here, refuse.
          write_reason(reason, reason_size, "the Ruby verify callback did not return")
          return 0 # rubocop:disable Lint/EnsureReturn
        end
      end
    end

    def self.write_reason(buf, size, text)
      return if buf.null? || size.zero?

      bytes = text.b[0, size - 1]
      buf.put_bytes(0, bytes)
      buf.put_uint8(bytes.bytesize, 0)
    end

    private

    def check(rc)
      raise MTLS.error_from_config(@cfg) if rc != 0
    end

    def configure(o)
      raise ArgumentError, "watch: takes seconds (1, 0.25), not #{o[:watch].inspect}" \
        unless o[:watch].nil? || (o[:watch].is_a?(Numeric) && o[:watch].positive?)

      # Ctrl-C, Thread#raise and Thread#kill end a blocked call (see
      # MTLS.retry_interrupted); other signals wait for it.
      signals = MTLS::INTERRUPT_SIGNALS
      list = FFI::MemoryPointer.new(:int, signals.size).write_array_of_int(signals)
      check(Native.mtls_config_set_interrupt_signals(@cfg, list, signals.size))
      load_identity(o)
      Array(o[:ca_file]).each { |f| check(Native.mtls_config_set_ca_file(@cfg, f.to_s)) }
      Array(o[:ca_path]).each { |d| check(Native.mtls_config_set_ca_path(@cfg, d.to_s)) }
      if o[:ca]
        pem = pem_text(o[:ca])
        check(Native.mtls_config_set_ca_mem(@cfg, pem, pem.bytesize))
      end
      check(Native.mtls_config_use_system_ca(@cfg)) if o[:system_ca]
      set_verify_mode(o[:verify_mode])
      set_tls_policy(o)
      check(Native.mtls_config_set_alpn(@cfg, Array(o[:alpn]).join(","))) if o[:alpn]
      check(Native.mtls_config_set_verify_depth(@cfg, o[:verify_depth])) if o[:verify_depth]
      check(Native.mtls_config_set_crl_file(@cfg, o[:crl_file].to_s, 0)) if o[:crl_file]
      check(Native.mtls_config_set_session_cache(@cfg, o[:session_cache])) if o[:session_cache]
      set_proxy_protocol(o[:proxy_protocol]) if o[:proxy_protocol]
      set_timeouts(o)
      set_http_limits(o[:http_limits]) if o[:http_limits]
      set_write_timeout(o[:write_timeout])
      set_allow(o[:allow]) if o[:allow]
      set_verify(o[:verify]) if o[:verify]
      set_watch(o[:watch]) if o[:watch]
    end

    # watch: last, once every setter has been called (their calls are what
    # a reload makes again).
    def set_watch(seconds)
      check(Native.mtls_config_watch_files(@cfg, (seconds * 1000).ceil))
    end

    def load_identity(o)
      if o[:p12]
        load_p12(o[:p12], o[:password])
      elsif o[:cert]
        load_cert(o[:cert], o[:key], o[:password])
      elsif o[:key]
        raise ArgumentError, "MTLS::Context: key: given without cert:"
      end
    end

    def load_p12(p12, password)
      data = p12.respond_to?(:to_der) ? p12.to_der : nil
      data ||= p12 if p12.is_a?(String) && p12.encoding == Encoding::BINARY &&
                      p12.start_with?("0") && (p12.include?("\0") || !File.file?(p12))
      if data
        check(Native.mtls_config_set_p12_mem(@cfg, data, data.bytesize, password))
      else
        check(Native.mtls_config_set_p12_file(@cfg, p12.to_s, password))
      end
    end

    def load_cert(cert, key, password)
      if path?(cert) && (key.nil? || path?(key))
        check(Native.mtls_config_set_cert_file(@cfg, cert.to_s, key&.to_s, password))
        return
      end
      cert_pem = pem_text(cert, "certificate")
      key_pem = key && pem_text(key, "key")
      check(Native.mtls_config_set_cert_mem(@cfg, cert_pem, cert_pem.bytesize,
                                            key_pem, key_pem ? key_pem.bytesize : 0,
                                            password))
    end

    def path?(obj)
      (obj.is_a?(String) && !obj.include?("-----BEGIN")) ||
        (defined?(Pathname) && obj.is_a?(Pathname))
    end

    # PEM text of a path, PEM string, #to_pem object or an array of them.
    def pem_text(obj, what = "file")
      return obj.map { |o| pem_text(o, what) }.join if obj.is_a?(Array)
      return obj.to_pem if obj.respond_to?(:to_pem)
      return obj if obj.include?("-----BEGIN")

      File.binread(obj.to_s)
    rescue SystemCallError => e
      raise ConfigError.new("cannot read #{what} '#{obj}': #{e.message.sub(/ @ .*/, '')}",
                            code: CODES[:FILE])
    end

    def set_verify_mode(mode)
      case mode
      when nil, :required, :peer, 1, 3 # OpenSSL::SSL::VERIFY_PEER (| FAIL_IF_NO_PEER_CERT)
        nil
      when :insecure_none # verification off: asked for by name only
        check(Native.mtls_config_insecure_noverify(@cfg))
      when :none, 0 # OpenSSL::SSL::VERIFY_NONE
        raise ArgumentError, "verify_mode: #{mode.inspect} (OpenSSL::SSL::VERIFY_NONE) " \
                             "would turn certificate verification off, which libmtls " \
                             "does only when asked by name: verify_mode: :insecure_none " \
                             "(for tests); to trust a private CA, give ca_file: instead"
      when :optional, :optional_no_ca
        check(Native.mtls_config_set_verify_client(@cfg, Native::VERIFY_CLIENT[mode]))
      else
        raise ArgumentError, "verify_mode: #{mode.inspect} is not one of :required " \
                             "(VERIFY_PEER), :optional, :optional_no_ca, :insecure_none"
      end
    end

    # As OpenSSL::SSL::SSLContext's min_version=, max_version=, ciphers=,
    # ciphersuites= and groups=: a list is a String ("X25519:P-256") or an
    # Array of names.
    def set_tls_policy(o)
      check(Native.mtls_config_set_max_version(@cfg, tls_version(:max_version, o[:max_version]))) if o[:max_version]
      check(Native.mtls_config_set_min_version(@cfg, tls_version(:min_version, o[:min_version]))) if o[:min_version]
      { ciphers: :mtls_config_set_ciphers, ciphersuites: :mtls_config_set_ciphersuites,
        groups: :mtls_config_set_groups }.each do |key, setter|
        check(Native.public_send(setter, @cfg, Array(o[key]).join(":"))) if o[key]
      end
    end

    def tls_version(key, v)
      return v if v.is_a?(Integer)

      case v.to_s
      when /1[._]?3\z/ then Native::TLS1_3
      when /1[._]?2\z/ then Native::TLS1_2
      else raise ArgumentError, "#{key}: #{v.inspect} is not :TLS1_2 or :TLS1_3"
      end
    end

    def set_timeouts(o)
      keys = %i[connect_timeout handshake_timeout io_timeout]
      return unless keys.any? { |k| o[k] }

      ms = ->(s, default) { s ? (s * 1000).ceil : default }
      check(Native.mtls_config_set_timeouts(@cfg, ms.(o[:connect_timeout], 30_000),
                                            ms.(o[:handshake_timeout], 30_000),
                                            ms.(o[:io_timeout], 0)))
    end

    # The HTTP server's limits (mtls_config_set_http_limit): max_body:
    # (bytes, 0 for none), max_headers:, max_header_bytes:,
    # max_request_line:, max_header_line:, and header_timeout: and
    # idle_timeout: in seconds (0 for none).
    def set_http_limits(limits)
      limits.each do |name, value|
        code = Native::HTTP_LIMITS[name.to_sym] or
          raise ArgumentError, "http_limits: unknown limit #{name.inspect} " \
                               "(#{Native::HTTP_LIMITS.keys.join(', ')})"
        value = (value * 1000).ceil if name.to_s.end_with?("_timeout")
        check(Native.mtls_config_set_http_limit(@cfg, code, Integer(value)))
      end
    end

    # write_timeout: writes wait this long instead of io_timeout.
    def set_write_timeout(seconds)
      check(Native.mtls_config_set_write_timeout(@cfg, (seconds * 1000).ceil)) if seconds
    end

    # true: loopback; else the trusted sources, an Array or a String.
    def set_proxy_protocol(trusted)
      list = trusted == true ? nil : Array(trusted).map(&:to_s).join(",")
      check(Native.mtls_config_set_proxy_protocol(@cfg, list))
    end

    def set_allow(allow)
      allow.each do |type, values|
        code = Native::ALLOW[type.to_sym] or
          raise ArgumentError, "allow: unknown kind #{type.inspect} " \
                               "(#{Native::ALLOW.keys.join(', ')})"
        Array(values).each { |v| check(Native.mtls_config_allow(@cfg, code, v.to_s)) }
      end
    end

    def set_verify(callable)
      raise ArgumentError, "verify: must respond to #call" unless callable.respond_to?(:call)

      # Kept in an instance variable: C holds the pointer as long as the
      # config lives, and every connection keeps its Context referenced.
      @verify_fn = FFI::Function.new(:int, %i[pointer int pointer pointer size_t]) do
        |conn, _chain_ok, _arg, reason, size|
        Context.run_verify(callable, conn, reason, size)
      end
      check(Native.mtls_config_set_verify_callback(@cfg, @verify_fn, nil))
    end

    def collect_warnings
      list = []
      while (w = Native.mtls_config_warning(@cfg, list.size))
        list << w
      end
      list
    end
  end
end
