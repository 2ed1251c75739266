# frozen_string_literal: true

require "ffi"
require_relative "version"

module MTLS
  # The library could not be loaded, or is not the one this binding needs.
  # A ::LoadError, so that `rescue LoadError` around `require "mtls"` works.
  class LoadError < ::LoadError; end

  # Every C function of libmtls used by the binding, in one place.  Calls
  # that can wait on the network are attached with `blocking: true`: they
  # release the GVL, so other Ruby threads run while they wait.
  module Native
    extend FFI::Library

    path = ENV["LIBMTLS_PATH"]
    # LIBMTLS_PATH names exactly the file to load: no fallback to another.
    LIBRARY = path.nil? || path.empty? ? SONAME : path

    begin
      if LIBRARY != SONAME && !File.file?(LIBRARY)
        raise ::LoadError, "no such file"
      end
      ffi_lib LIBRARY
    rescue ::LoadError => e
      hint = if LIBRARY == SONAME
               "install libmtls (make install; then ldconfig), or set " \
               "LIBMTLS_PATH to the full path of libmtls.so.0"
             else
               "LIBMTLS_PATH is set: point it at an existing libmtls.so.0 " \
               "(in a build tree: .libs/libmtls.so.0), or unset it to use " \
               "the installed #{SONAME}"
             end
      raise MTLS::LoadError, "mtls: cannot load libmtls from " \
        "#{LIBRARY.inspect}: #{e.message.lines.first.to_s.strip}; #{hint}"
    end

    def self.attach(name, args, ret, c_name: name, **opts)
      attach_function(name, c_name, args, ret, **opts)
    rescue FFI::NotFoundError
      raise MTLS::LoadError, "mtls: #{LIBRARY} has no #{c_name}(): it is " \
        "older than this binding (mtls gem #{VERSION}, ABI " \
        "#{ABI_VERSION}); install a newer libmtls or set LIBMTLS_PATH"
    end
    private_class_method :attach

    attach :mtls_abi_version, [], :int
    abi = mtls_abi_version
    if abi != ABI_VERSION
      raise MTLS::LoadError, "mtls: #{LIBRARY} has ABI version #{abi}, " \
        "this binding (mtls gem #{VERSION}) needs ABI #{ABI_VERSION}: " \
        "#{abi < ABI_VERSION ? 'install a newer libmtls' : 'update the mtls gem'}" \
        " or set LIBMTLS_PATH to a matching libmtls.so.0"
    end

    typedef :pointer, :config
    typedef :pointer, :conn

    # mtls_verify_fn
    callback :verify_fn, %i[conn int pointer pointer size_t], :int

    attach :mtls_error_name, [:int], :string

    # config
    attach :mtls_config_new, [], :config
    attach :mtls_config_free, [:config], :void
    attach :mtls_config_error, [:config], :string
    attach :mtls_config_error_code, [:config], :int
    attach :mtls_config_warning, %i[config size_t], :string
    attach :mtls_config_set_cert_file, %i[config string string string], :int
    attach :mtls_config_set_cert_mem,
           %i[config pointer size_t pointer size_t string], :int
    attach :mtls_config_set_p12_file, %i[config string string], :int
    attach :mtls_config_set_p12_mem, %i[config pointer size_t string], :int
    attach :mtls_config_set_ca_file, %i[config string], :int
    attach :mtls_config_set_ca_path, %i[config string], :int
    attach :mtls_config_set_ca_mem, %i[config pointer size_t], :int
    attach :mtls_config_use_system_ca, [:config], :int
    attach :mtls_config_set_min_version, %i[config int], :int
    attach :mtls_config_set_max_version, %i[config int], :int
    attach :mtls_config_set_ciphers, %i[config string], :int
    attach :mtls_config_set_ciphersuites, %i[config string], :int
    attach :mtls_config_set_groups, %i[config string], :int
    attach :mtls_config_set_alpn, %i[config string], :int
    attach :mtls_config_set_timeouts, %i[config int int int], :int
    attach :mtls_config_set_write_timeout, %i[config int], :int
    attach :mtls_config_set_verify_client, %i[config int], :int
    attach :mtls_config_insecure_noverify, [:config], :int
    attach :mtls_config_set_verify_depth, %i[config int], :int
    attach :mtls_config_set_crl_file, %i[config string int], :int
    attach :mtls_config_allow, %i[config int string], :int
    attach :mtls_config_set_verify_callback, %i[config verify_fn pointer], :int
    attach :mtls_config_set_session_cache, %i[config int], :int
    attach :mtls_config_set_proxy_protocol, %i[config string], :int
    attach :mtls_config_set_interruptible, %i[config int], :int
    attach :mtls_config_set_interrupt_signals, %i[config pointer size_t], :int
    attach :mtls_config_watch_files, %i[config int], :int
    attach :mtls_config_reload_counts, %i[config pointer pointer], :int

    # objects
    attach :mtls_client_new, [:config], :conn
    attach :mtls_server_new, [:config], :conn
    attach :mtls_free, [:conn], :void
    attach :mtls_error, [:conn], :string
    attach :mtls_error_code, [:conn], :int
    attach :mtls_error_errno, [:conn], :int
    attach :mtls_set_verify_name, %i[conn string], :int
    attach :mtls_connect, %i[conn string string], :int, blocking: true
    attach :mtls_listen, %i[conn string string int], :int
    attach :mtls_accept, %i[conn pointer], :int, blocking: true
    attach :mtls_handshake, [:conn], :int, blocking: true
    attach :mtls_read, %i[conn pointer size_t], :ssize_t, blocking: true
    attach :mtls_write, %i[conn pointer size_t], :ssize_t, blocking: true
    attach :mtls_close, [:conn], :int, blocking: true
    attach :mtls_wake, [:conn], :int
    attach :mtls_fd, [:conn], :int
    attach :mtls_local_port, [:conn], :int

    # connection facts and peer identity
    attach :mtls_conn_version, [:conn], :string
    attach :mtls_conn_cipher, [:conn], :string
    attach :mtls_conn_group, [:conn], :string
    attach :mtls_conn_alpn, [:conn], :string
    attach :mtls_conn_session_resumed, [:conn], :int
    attach :mtls_conn_describe, [:conn], :string
    attach :mtls_peer_cert_provided, [:conn], :int
    attach :mtls_peer_cert_verified, [:conn], :int
    attach :mtls_peer_verify_error, [:conn], :string
    attach :mtls_peer_subject, [:conn], :string
    attach :mtls_peer_issuer, [:conn], :string
    attach :mtls_peer_common_name, [:conn], :string
    attach :mtls_peer_serial, [:conn], :string
    attach :mtls_peer_fingerprint_sha256, [:conn], :string
    attach :mtls_peer_spki_sha256, [:conn], :string
    attach :mtls_peer_not_before, [:conn], :time_t
    attach :mtls_peer_not_after, [:conn], :time_t
    attach :mtls_peer_san, %i[conn int size_t], :string
    attach :mtls_peer_acceptable_ca, %i[conn size_t], :string
    attach :mtls_peer_cert_pem, [:conn], :string
    attach :mtls_peer_address, [:conn], :string
    attach :mtls_peer_port, [:conn], :int
    attach :mtls_peer_chain_pem, [:conn], :string

    # HTTP/1.1 client
    attach :mtls_http_request,
           %i[conn string string pointer pointer size_t int], :pointer,
           blocking: true
    attach :mtls_http_resume, [:conn], :pointer, blocking: true
    attach :mtls_http_url, %i[conn string string pointer size_t], :pointer,
           blocking: true
    attach :mtls_http_response_status, [:pointer], :int
    attach :mtls_http_response_reason, [:pointer], :string
    attach :mtls_http_response_version, [:pointer], :string
    attach :mtls_http_response_header_at, %i[pointer size_t pointer pointer],
           :int
    attach :mtls_http_response_headers, %i[pointer pointer], :uintptr_t
    attach :mtls_http_response_body, %i[pointer pointer], :pointer
    attach :mtls_http_response_read, %i[pointer pointer size_t], :ssize_t,
           blocking: true
    attach :mtls_http_response_free, [:pointer], :void

    # HTTP/1.1 server
    attach :mtls_http_read_request, %i[conn int pointer], :int, blocking: true
    attach :mtls_http_req_method, [:pointer], :string
    attach :mtls_http_req_target, [:pointer], :string
    attach :mtls_http_req_version, [:pointer], :string
    attach :mtls_http_req_header_at, %i[pointer size_t pointer pointer], :int
    attach :mtls_http_req_body, %i[pointer pointer], :pointer
    attach :mtls_http_respond, %i[pointer int pointer pointer size_t], :int,
           blocking: true
    attach :mtls_http_req_free, [:pointer], :void

    # Non-blocking connections (MTLS::RackServer): sockets accepted in
    # Ruby, calls that never wait (MTLS_WANT_* instead), Ruby waiting for
    # the socket.  The *_now names hold the GVL, which a call that never
    # waits need not give up; the handshake's read_request is the
    # blocking-attached one, so that handshakes run on every core.
    attach :mtls_accept_socket, %i[conn pointer int], :int
    attach :mtls_config_set_http_limit, %i[config int ulong_long], :int
    attach :mtls_http_ms_left, [:conn], :long
    attach :mtls_http_read_request_now, %i[conn int pointer], :int,
           c_name: :mtls_http_read_request
    attach :mtls_http_req_read_body_now, %i[pointer pointer size_t], :ssize_t,
           c_name: :mtls_http_req_read_body
    attach :mtls_http_respond_now, %i[pointer int pointer pointer size_t], :int,
           c_name: :mtls_http_respond
    attach :mtls_http_respond_start_now, %i[pointer int pointer], :int,
           c_name: :mtls_http_respond_start
    attach :mtls_http_respond_write_now, %i[pointer pointer size_t], :ssize_t,
           c_name: :mtls_http_respond_write
    attach :mtls_http_respond_end_now, [:pointer], :int,
           c_name: :mtls_http_respond_end
    attach :mtls_read_now, %i[conn pointer size_t], :ssize_t, c_name: :mtls_read
    attach :mtls_write_now, %i[conn pointer size_t], :ssize_t, c_name: :mtls_write
    attach :mtls_close_now, [:conn], :int, c_name: :mtls_close

    # The constants of include/mtls.h and mtls_http.h, read from the
    # library (mtls_constant_at) rather than copied: name => value.
    attach :mtls_constant_at, %i[size_t pointer], :string
    CONSTANTS = begin
      value = FFI::MemoryPointer.new(:long)
      table = {}
      while (name = mtls_constant_at(table.size, value))
        table[name] = value.read_long
      end
      table.freeze
    end

    # The constants whose names begin with prefix, as lower-case Symbols
    # of the rest of the name: constants("MTLS_SAN_") => { dns: 1, ... }.
    def self.constants(prefix)
      CONSTANTS.each_with_object({}) do |(name, value), h|
        h[name.delete_prefix(prefix).downcase.to_sym] = value if name.start_with?(prefix)
      end.freeze
    end

    WANT_POLLIN = CONSTANTS.fetch("MTLS_WANT_POLLIN")
    WANT_POLLOUT = CONSTANTS.fetch("MTLS_WANT_POLLOUT")
    HTTP_STREAM = CONSTANTS.fetch("MTLS_HTTP_STREAM")
    HTTP_NOWAIT = CONSTANTS.fetch("MTLS_HTTP_NOWAIT")
    VERIFY_CLIENT = constants("MTLS_VERIFY_CLIENT_")
    # spki: is the short name of spki_sha256:.
    ALLOW = constants("MTLS_ALLOW_").then { |h| h.merge(spki: h.fetch(:spki_sha256)).freeze }
    TLS1_2 = CONSTANTS.fetch("MTLS_TLS1_2")
    TLS1_3 = CONSTANTS.fetch("MTLS_TLS1_3")
    SAN = constants("MTLS_SAN_")
    # enum mtls_http_limit, by the names Context's http_limits: takes
    # (MTLS_HTTP_IDLE_TIMEOUT_MS: idle_timeout:, in milliseconds).
    HTTP_LIMITS = constants("MTLS_HTTP_").each_with_object({}) do |(name, value), h|
      next unless name.start_with?("max_") || name.end_with?("_timeout_ms")

      h[name.to_s.delete_suffix("_ms").to_sym] = value
    end.freeze

    # The path of the file loaded (LIBMTLS_PATH or the soname).
    def self.library_path
      LIBRARY
    end

    # A NULL-terminated char *[] of "Name: value" strings; the returned
    # array must stay referenced for as long as C uses the pointer.
    def self.header_array(headers)
      lines = []
      headers&.each do |name, value|
        Array(value).each { |v| lines << "#{name}: #{v}" }
      end
      ptr = string_array(lines)
      [ptr, ptr && [ptr]]
    end

    # A NULL-terminated char *[] of the strings, pointers and text in one
    # block of memory (one allocation, however many strings), or nil for
    # none.  C reads each string to its NUL, so a NUL inside one would cut
    # it short: refused.
    def self.string_array(strings)
      return nil if strings.empty?

      text = String.new(encoding: Encoding::BINARY)
      offsets = strings.map do |s|
        raise ArgumentError, "MTLS: a NUL byte in #{s.inspect}" if s.include?("\0")

        at = text.bytesize
        text << s << "\0"
        at
      end
      pack_strings(text, offsets)
    end

    # A pointer-sized unsigned integer in memory (a C pointer, a size_t),
    # as an Integer.
    if FFI::Pointer.size == 8
      def self.put_word(mem, offset, value)
        mem.put_uint64(offset, value)
      end

      def self.get_word(mem)
        mem.get_uint64(0)
      end
    else
      def self.put_word(mem, offset, value)
        mem.put_uint32(offset, value)
      end

      def self.get_word(mem)
        mem.get_uint32(0)
      end
    end

    # The char *[] of the NUL-terminated strings of text that begin at
    # offsets, NULL-terminated, with the text after it in one block.
    def self.pack_strings(text, offsets)
      table = (offsets.size + 1) * FFI::Pointer.size
      mem = FFI::MemoryPointer.new(table + text.bytesize)
      base = mem.address + table
      offsets.each_with_index { |at, i| put_word(mem, i * FFI::Pointer.size, base + at) }
      put_word(mem, offsets.size * FFI::Pointer.size, 0)
      mem.put_bytes(table, text)
      mem
    end

    # Any address, for bytes_at: Pointer#get_bytes(offset, length) reads
    # at its address plus offset, so one Pointer reads every block C hands
    # out by address (an FFI::Pointer each would be an object a block).
    ANY_ADDRESS = FFI::Pointer.new(1)

    # The length bytes at address (an Integer).
    def self.bytes_at(address, length)
      ANY_ADDRESS.get_bytes(address - 1, length)
    end

    # Every header of a response or request, by an *_header_at function.
    def self.read_headers(fn, obj)
      name = FFI::MemoryPointer.new(:pointer)
      value = FFI::MemoryPointer.new(:pointer)
      list = []
      i = 0
      while send(fn, obj, i, name, value) == 1
        list << [name.read_pointer.read_string, value.read_pointer.read_string]
        i += 1
      end
      list
    end

    # A body (pointer + length out-parameter) copied into a binary String.
    def self.read_body(fn, obj)
      len = FFI::MemoryPointer.new(:size_t)
      ptr = send(fn, obj, len)
      n = len.read(:size_t)
      n.zero? || ptr.null? ? String.new(encoding: Encoding::BINARY) : ptr.read_bytes(n)
    end
  end
end
